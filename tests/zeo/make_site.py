"""Run by a ZEO client (``bin/client1 run``): a Plone site with the add-on and one Auto-Sync remote."""

import transaction
from AccessControl.SecurityManagement import newSecurityManager
from Products.CMFPlone.factory import addPloneSite
from Testing.makerequest import makerequest
from zope.component.hooks import setSite

from senaite_style_sync.actions.remotes import create_remote


app = makerequest(app)  # noqa: F821 -- ``app`` is given by ``bin/clientN run``
if not app.acl_users.getUserById("admin"):
    app.acl_users._doAddUser("admin", "admin", ["Manager"], [])
newSecurityManager(None, app.acl_users.getUserById("admin").__of__(app.acl_users))
site = addPloneSite(app, "Plone", extension_ids=["plone.app.contenttypes:default", "senaite_style_sync:default"])
setSite(site)
# An unreachable peer: the job fails after its retries, which keeps it running long enough.
create_remote(site, {"name": "lab", "url": "http://localhost:9/Plone", "auto_sync": True, "auto_sync_interval": 60})
transaction.commit()
print("SITE READY")
