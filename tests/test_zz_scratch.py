import json, unittest, transaction
from plone import api
from plone.app.textfield.value import RichTextValue
from plone.app.testing import SITE_OWNER_NAME, SITE_OWNER_PASSWORD
from zope.component.hooks import setSite
from senaite_style_sync.peers.client import PeerClient
from senaite_style_sync.testing import SYNC_FUNCTIONAL_TESTING

class T(unittest.TestCase):
    layer = SYNC_FUNCTIONAL_TESTING
    def test_it(self):
        app = self.layer["app"]; source = app["source"]; setSite(source)
        with api.env.adopt_roles(["Manager"]):
            f = api.content.create(source, "Folder", id="f1", title="F1")
            d = api.content.create(f, "Document", id="d1", title="D1")
            d2 = api.content.create(f, "Document", id="d2", title="D2")
            d.text = RichTextValue(f'<p>see <a href="resolveuid/{d2.UID()}">d2</a> <img src="resolveuid/{d2.UID()}/@@images/image/preview"/></p>', "text/html", "text/x-html-safe")
            api.content.transition(d, "publish")
            f.setDefaultPage("d1")
        transaction.commit()
        c = PeerClient(f"http://{self.layer['host']}:{self.layer['port']}/source", SITE_OWNER_NAME, SITE_OWNER_PASSWORD)
        items = list(c.listing())
        print(items)
        print(c.default_page_uids())
        objs = c.read_objects([d.UID(), f.UID()])
        print(json.dumps(objs[d.UID()], indent=1)[:6000])
        print(json.dumps(c.sharing("f1/d1"))[:1000])
        print(c.requests_made)
