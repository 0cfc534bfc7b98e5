"""Four real Plone sites with the add-on, served over HTTP, and helpers to sync them in rounds.

``plone`` and ``source`` come from the sync layer; ``third`` and ``fourth`` are added here.
Each ``Lab`` pulls from the others through Remotes, exactly as a job thread would run a step.
"""

import transaction
from AccessControl.SecurityManagement import getSecurityManager
from AccessControl.SecurityManagement import newSecurityManager
from AccessControl.SecurityManagement import setSecurityManager
from AccessControl.users import UnrestrictedUser
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from plone.app.testing import PloneSandboxLayer
from plone.app.testing import applyProfile
from plone.namedfile.file import NamedBlobFile
from Products.CMFPlone.factory import addPloneSite
from ZODB.utils import p64
from ZODB.utils import u64
from zope.component.hooks import setSite

from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.jobs.steps import run_step
from senaite_style_sync.model.jobs import SYSTEM_USER
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.sync.readonly import sync_writes
from senaite_style_sync.testing import EDITOR_NAME
from senaite_style_sync.testing import EDITOR_PASSWORD
from senaite_style_sync.testing import SOURCE_SITE_ID
from senaite_style_sync.testing import SYNC_FIXTURE
from senaite_style_sync.testing import Functional
from senaite_style_sync.testing import ServerErrors
from senaite_style_sync.testing import WSGIServer


OWNER = (SITE_OWNER_NAME, SITE_OWNER_PASSWORD)
EXTRA_SITES = ("third", "fourth")
# What a round with nothing to do may store: the jobs' records and the remotes' bookkeeping.
BOOKKEEPING = frozenset(
    {"Job", "Pulse", "PersistentList", "PersistentMapping", "Remote", "SyncState", "OOBTree", "OOBucket", "Length"}
)
WRITES = ("created", "updated", "moved", "deleted", "conflicts")


class TopologyLayer(PloneSandboxLayer):
    defaultBases = (SYNC_FIXTURE,)

    def setUpPloneSite(self, portal) -> None:
        app = portal.aq_parent
        for site_id in EXTRA_SITES:
            setSite(None)  # else the new site's root is indexed in another site's catalog
            addPloneSite(app, site_id, extension_ids=["plone.app.contenttypes:default", "plone.restapi:default"])
            site = app[site_id]
            setSite(site)
            applyProfile(site, "senaite_style_sync:default")
            site.acl_users.userFolderAddUser(EDITOR_NAME, EDITOR_PASSWORD, ["Editor"], [])
        setSite(portal)
        transaction.commit()


TOPOLOGY_FIXTURE = TopologyLayer()
# A WSGI server of its own, started after the four sites exist: the shared WSGI_SERVER_FIXTURE,
# when still up from the sync layer's tests, would go on serving that layer's database.
TOPOLOGY_WSGI_SERVER = WSGIServer(bases=(TOPOLOGY_FIXTURE,), name="TopologyLayer:WSGIServer")
TOPOLOGY_SERVER_ERRORS = ServerErrors(name="TopologyLayer:ServerErrors")
TOPOLOGY_FUNCTIONAL_TESTING = Functional(
    bases=(TOPOLOGY_WSGI_SERVER, TOPOLOGY_SERVER_ERRORS), name="TopologyLayer:Functional"
)


class Lab:
    """One site of the topology, by its id in the Zope root."""

    def __init__(self, layer, site_id: str) -> None:
        self.layer = layer
        self.site_id = site_id
        self.url = f"http://{layer['host']}:{layer['port']}/{site_id}"

    @property
    def site(self):
        return self.layer["app"][self.site_id]

    def enter(self):
        """Make this the current site (after committing what the previous one queued)."""
        transaction.commit()
        setSite(self.site)
        return self.site

    def add_remote(self, name: str, peer: "Lab", **settings) -> None:
        self.enter()
        create_remote(self.site, {"name": name, "url": peer.url, "username": OWNER[0], "password": OWNER[1]} | settings)
        transaction.commit()

    def pull(self, name: str, step: str = "update", since: str = "", bundle: str = "", confirms: str = "") -> Job:
        """Run one step of the remote ``name`` here, as its job thread would; the finished job.
        ``bundle``: the file an import from file applies."""
        site = self.enter()
        remote = RemoteStorage(site).get(name)
        job = Job(name, step, "test", since, confirms)
        job.bundle = bundle
        JobStore(site).add(job)
        transaction.commit()
        previous = getSecurityManager()
        # As the job thread runs it: an unrestricted Manager, the sync's own system user.
        newSecurityManager(None, UnrestrictedUser(SYSTEM_USER, "", ["Manager"], []).__of__(site.acl_users))
        try:
            with sync_writes():
                run_step(site, remote, job)
        finally:
            setSecurityManager(previous)
        job.state = "done"
        transaction.commit()
        return job

    def remote(self, name: str):
        transaction.begin()
        return RemoteStorage(self.site).get(name)

    def find(self, uid: str):
        """The object with ``uid`` in this site (None if absent)."""
        root = "/".join(self.site.getPhysicalPath()) + "/"
        for brain in self.site.portal_catalog.unrestrictedSearchResults(UID=uid):
            if brain.getPath().startswith(root):
                return brain._unrestrictedGetObject()
        return None

    def edit(self, uid: str, title: str) -> None:
        """Edit the object's title as an edit form would (it is re-dated)."""
        self.enter()
        obj = self.find(uid)
        obj.title = title
        obj.reindexObject()
        transaction.commit()

    def delete(self, uid: str) -> None:
        self.enter()
        with api.env.adopt_roles(["Manager"]):
            api.content.delete(obj=self.find(uid), check_linkintegrity=False)
        transaction.commit()

    def serials(self) -> dict[str, bytes]:
        """Path -> last transaction of every content object here."""
        transaction.begin()
        result = {}
        root = "/".join(self.site.getPhysicalPath())
        for brain in self.site.portal_catalog.unrestrictedSearchResults(path=root):
            obj = brain._unrestrictedGetObject()
            obj._p_activate()
            result[brain.getPath()] = obj._p_serial
        return result


def last_transaction(layer) -> bytes:
    return layer["app"]._p_jar.db().storage.lastTransaction()


def written_classes(layer, since: bytes) -> set[str]:
    """The classes of every object stored (in any site) after the transaction ``since``."""
    connection = layer["app"]._p_jar
    storage = connection.db().storage
    oids = {record.oid for txn in storage.iterator(p64(u64(since) + 1)) for record in txn}
    return {type(connection.get(oid)).__name__ for oid in oids}


def labs(layer) -> dict[str, Lab]:
    return {site_id: Lab(layer, site_id) for site_id in ("plone", SOURCE_SITE_ID, *EXTRA_SITES)}


def build_small_corpus(site) -> dict:
    """A few objects of the kinds a conflict test needs (the rich corpus is for faithfulness)."""
    with api.env.adopt_roles(["Manager"]):
        folders = {
            name: api.content.create(site, "Folder", id=name, title=name.title()) for name in ("seiten", "medien")
        }
        page = api.content.create(folders["seiten"], "Document", id="seite-1", title="Seite 1", description="Eins")
        news = api.content.create(folders["medien"], "News Item", id="meldung-1", title="Meldung 1")
        file = api.content.create(folders["medien"], "File", id="datei", title="Datei")
        file.file = NamedBlobFile(
            data=b"0123456789" * 500, filename="datei.bin", contentType="application/octet-stream"
        )
        file.reindexObject()
    transaction.commit()
    return {obj.getId(): obj for obj in (*folders.values(), page, news, file)}
