"""The copy is the original: measured by the independent comparator, over plain plone.restapi.

A varied corpus on the peer, Fetch + Import, a batch of changes of every kind on the peer,
Get Updates, an idle Get Updates; after each, the comparator (tests/comparator.py, which
knows nothing of the engine) must find no difference between the sites, in any category,
dates included. Once with this add-on on the peer, once with a stock peer.
"""

import transaction
from DateTime import DateTime
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from ZODB.utils import p64
from ZODB.utils import u64

from senaite_style_sync.model.storage import RemoteStorage
from tests.comparator import compare_sites
from tests.comparator import format_differences
from tests.rich_corpus import build_rich_corpus
from tests.sync_helpers import SyncTestCase


OWNER = (SITE_OWNER_NAME, SITE_OWNER_PASSWORD)
# What an idle run may write: the job's record and the Remote's own bookkeeping.
# The job's own records (its Pulse is its heartbeat) and the remote's record of the run.
BOOKKEEPING = frozenset(
    {"Job", "Pulse", "PersistentList", "PersistentMapping", "Remote", "SyncState", "OOBTree", "OOBucket", "Length"}
)


class FaithfulTestCase(SyncTestCase):
    stock_peer = False

    def setUp(self):
        super().setUp()
        self.plone_url = f"http://{self.layer['host']}:{self.layer['port']}/plone"
        if self.stock_peer:
            self.make_source_stock()
        self.on_source()
        self.corpus = build_rich_corpus(self.source)
        transaction.commit()
        self.make_remote()

    def assert_same(self, label: str) -> None:
        differences = compare_sites(self.source_url, self.plone_url, OWNER, OWNER)
        self.assertEqual(differences, [], f"{label}:\n{format_differences(differences)}")

    def assert_clean(self, job, conflicts: int = 0) -> None:
        self.assertEqual(list(job.errors), [])
        self.assertEqual(job.counts.get("conflicts", 0), conflicts, dict(job.counts))

    def named(self, name):
        return self.corpus["by_name"][name]

    def change_everything_on_the_peer(self) -> None:
        """Edits of every type, a moved folder that holds items, a rename, a reorder, a sharing
        change, a default-page change, publish and retract, a deleted folder with content, new
        objects: on the peer's own site, committed, as its users would.

        A sharing change re-dates nothing: from a stock peer it arrives with the manual Get
        Updates only (docs/sync.rst), so the stock peer's batch leaves it out.
        """
        self.on_source()
        with api.env.adopt_roles(["Manager"]):
            for name in ("seite-1", "meldung-1", "berlin", "intern-1"):
                obj = self.named(name)
                obj.title = f"{obj.title} (geändert)"
                obj.reindexObject()  # re-dates it, as an edit form does
            api.content.move(source=self.named("seiten"), target=self.named("archiv"))
            api.content.rename(obj=self.named("zukunft"), new_id="zukunft-neu")
            self.named("sortiert").moveObjectsToTop([self.named("sortiert").objectIds()[-1]])
            if not self.stock_peer:
                self.named("intranet").manage_setLocalRoles("editor", ["Reader", "Contributor"])
                self.named("intranet").reindexObjectSecurity()
            folder = self.named("ueber-uns")
            other = api.content.create(folder, "Document", id="neue-startseite", title="Neue Startseite")
            folder.setDefaultPage(other.getId())
            for name in ("meldung-1", "seite-2"):  # publish or retract
                obj = self.named(name)
                published = api.content.get_state(obj, None) == "published"
                api.content.transition(obj=obj, transition="retract" if published else "publish")
            api.content.delete(obj=self.named("termine"), check_linkintegrity=False)
            api.content.create(self.named("medien"), "Document", id="neu", title="Neu – 新しい")
        transaction.commit()

    def content_serials(self) -> dict[str, bytes]:
        transaction.begin()
        result = {}
        catalog = self.portal.portal_catalog
        for brain in catalog.unrestrictedSearchResults(path="/".join(self.portal.getPhysicalPath())):
            obj = brain._unrestrictedGetObject()
            obj._p_activate()
            result[brain.getPath()] = obj._p_serial
        return result

    def written_classes(self, since: bytes) -> set[str]:
        """The classes of every object stored after the transaction ``since``."""
        connection = self.portal._p_jar
        storage = connection.db().storage
        oids = {record.oid for txn in storage.iterator(p64(u64(since) + 1)) for record in txn}
        return {type(connection.get(oid)).__name__ for oid in oids}


class TestFaithfulFromAddonPeer(FaithfulTestCase):
    def test_import_updates_and_idle_runs_give_a_faithful_copy(self):
        self.run_step("fetch")
        job = self.run_step("import")
        self.assert_clean(job)
        self.assert_same("after Import")

        self.change_everything_on_the_peer()
        job = self.run_step("update")
        self.assert_clean(job)
        self.assert_same("after Get Updates")

        before = self.content_serials()
        state = RemoteStorage(self.portal).get("src").state
        synced = dict(state.synced.items())
        last = self.portal._p_jar.db().storage.lastTransaction()
        job = self.run_step("update")
        self.assert_clean(job)
        for key in ("created", "updated", "moved", "deleted", "conflicts"):
            self.assertFalse(job.counts.get(key), (key, dict(job.counts)))
        self.assertEqual(self.content_serials(), before)
        transaction.begin()
        self.assertEqual(dict(RemoteStorage(self.portal).get("src").state.synced.items()), synced)
        self.assertLessEqual(self.written_classes(last), BOOKKEEPING)
        self.assert_same("after an idle Get Updates")


class TestFaithfulFromStockPeer(TestFaithfulFromAddonPeer):
    stock_peer = True


class TestLocalEdits(FaithfulTestCase):
    def test_a_real_local_edit_after_the_sync_moved_its_folder_is_still_a_conflict(self):
        self.run_step("fetch")
        self.run_step("import")
        page = self.named("seite-1")
        self.on_source()
        with api.env.adopt_roles(["Manager"]):
            api.content.move(source=self.named("seiten"), target=self.named("archiv"))
        transaction.commit()
        job = self.run_step("update")
        self.assert_clean(job)
        copy = self.find(self.portal, page.UID())
        self.assertEqual(copy.aq_parent.getId(), "seiten")
        copy.title = "Hier geändert"
        copy.setModificationDate(DateTime())
        copy.reindexObject()
        transaction.commit()  # indexed in this site's catalog: the queue indexes in the current site's
        page = self.find(self.on_source(), page.UID())  # at its new path
        page.title = "Dort geändert"
        page.reindexObject()
        transaction.commit()
        job = self.run_step("update")
        self.assert_clean(job, conflicts=1)
        self.assertEqual(list(RemoteStorage(self.portal).get("src").state.conflicts.keys()), [page.UID()])
