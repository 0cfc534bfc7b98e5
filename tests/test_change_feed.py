"""The change feed (@sync-changes) a peer with the add-on serves, and Get Updates that reads it.

Served: every committed change has a number, given in commit order, with no gap a reader
could see fill later, also while two threads commit interleaved; tombstones; entries of
objects the caller may not see withheld; compaction; a checkpoint below the floor is 410.
Read: Get Updates from the feed reads only what changed (no listing), brings what the
listing misses, deletes exactly what the peer deleted (and only what it confirms gone,
within the scope), falls back to the listing when the log no longer reaches back, leaves
a faithful copy, writes nothing when idle, and downloads no file it has already.
"""

import hashlib
import os
import tempfile
import threading
import unittest
from contextlib import contextmanager
from dataclasses import replace
from unittest import mock

import requests
import transaction
import ZODB
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from plone.namedfile.file import NamedBlobFile
from ZODB.FileStorage import FileStorage
from ZODB.POSException import ConflictError
from zope.component.hooks import setSite

from senaite_style_sync.jobs.system import as_system
from senaite_style_sync.model import changes as changes_module
from senaite_style_sync.model.changes import Change
from senaite_style_sync.model.changes import ChangeLog
from senaite_style_sync.model.changes import ChangeTail
from senaite_style_sync.model.changes import change_log
from senaite_style_sync.model.state import SyncState
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.peer.errors import PeerGone
from senaite_style_sync.peer.feed import FeedChange
from senaite_style_sync.peer.feed import FeedError
from senaite_style_sync.peer.feed import FeedGone
from senaite_style_sync.peer.feed import folder_orders
from senaite_style_sync.peer.feed import read_changes
from senaite_style_sync.peer.http import PeerHTTP
from senaite_style_sync.peer.listing import UNPLACED
from senaite_style_sync.peer.listing import ListingItem
from senaite_style_sync.peer.readers import StockReader
from senaite_style_sync.sync.feed import FELL_OFF
from senaite_style_sync.sync.feed import STILL_THERE
from senaite_style_sync.sync.feed import UNUSABLE
from senaite_style_sync.sync.feed import IndexUpdate
from senaite_style_sync.sync.scope import TypeRules
from senaite_style_sync.sync.scope import build_index
from senaite_style_sync.testing import SOURCE_SITE_ID
from tests.comparator import compare_sites
from tests.comparator import format_differences
from tests.corpus import build_corpus
from tests.corpus import file_bytes
from tests.sync_helpers import SyncTestCase
from tests.test_faithful import BOOKKEEPING
from tests.test_faithful import FaithfulTestCase


OWNER = (SITE_OWNER_NAME, SITE_OWNER_PASSWORD)
JSON = {"Accept": "application/json"}


@contextmanager
def requested():
    """The requests (URL and query) the sync makes of the peer meanwhile, downloads included."""
    calls: list[tuple[str, list]] = []
    real = PeerHTTP.request

    def spy(client, method, url, **kwargs):
        calls.append((url, list(kwargs.get("params") or [])))
        return real(client, method, url, **kwargs)

    with mock.patch.object(PeerHTTP, "request", spy):
        yield calls


def listing_requests(calls: list[tuple[str, list]]) -> list[str]:
    """The pages of a listing among ``calls`` (not the look-ups of single UIDs)."""
    return [
        url
        for url, params in calls
        if url.endswith("/@sync-list") or (url.endswith("/@search") and any(key == "sort_on" for key, _ in params))
    ]


def logged(log: ChangeLog, since: int) -> dict[int, Change]:
    """Every entry of ``log`` after ``since``, by number."""
    return dict(log.page(since, 1_000_000))


def downloads(calls: list[tuple[str, list]]) -> list[str]:
    return [url for url, _params in calls if "@@download" in url]


class FeedTestCase(SyncTestCase):
    def feed(self, **params) -> requests.Response:
        return requests.get(f"{self.source_url}/@sync-changes", params=params, auth=OWNER, headers=JSON, timeout=60)

    def entries(self, since: int = 0) -> list[dict]:
        """Every entry served after ``since`` (following ``last``)."""
        items = []
        while True:
            page = self.feed(since=since).json()
            items += page["items"]
            if not page["more"]:
                return items
            since = page["last"]

    def log(self):
        transaction.begin()
        return change_log(self.app[SOURCE_SITE_ID])

    def make(self, container, portal_type, obj_id, **kwargs):
        with api.env.adopt_roles(["Manager"]):
            return api.content.create(container, portal_type, id=obj_id, title=obj_id.title(), **kwargs)

    def remote_state(self, name="src"):
        transaction.begin()
        return RemoteStorage(self.portal).get(name).state


class TestServedFeed(FeedTestCase):
    def test_each_kind_of_change_is_an_entry_with_its_revision_and_files(self):
        source = self.on_source()
        answer = self.feed()
        self.assertEqual(answer.status_code, 200, answer.text)
        head = answer.json()["head"]
        folder = self.make(source, "Folder", "ordner")
        page = self.make(folder, "Document", "seite")
        other = self.make(folder, "Document", "andere")
        attachment = self.make(folder, "File", "datei", file=NamedBlobFile(b"bytes of a file", filename="d.txt"))
        transaction.commit()
        page.title = "Edited"
        page.reindexObject()
        transaction.commit()
        with api.env.adopt_roles(["Manager"]):
            api.content.transition(obj=page, transition="publish")
            transaction.commit()
            api.content.rename(obj=other, new_id="umbenannt")
            transaction.commit()
            folder.moveObjectsToTop(["datei"])  # no reindex: the container's event says it
            transaction.commit()
            page.manage_setLocalRoles("editor", ["Reviewer"])
            page.reindexObjectSecurity()
            transaction.commit()
            folder.setDefaultPage("seite")
            transaction.commit()
            folder.setLayout("summary_view")  # no event, no reindex: found among the objects stored
            page.reindexObject(idxs=["Title"])  # (outside a request, when anything else is noted)
            transaction.commit()
            moved = api.content.move(source=folder["umbenannt"], target=source)
            transaction.commit()
            deleted_uid = attachment.UID()
            api.content.delete(obj=attachment)
            transaction.commit()

        items = self.entries(head)
        log = self.log()
        self.assertEqual(list(logged(log, head)), list(range(head + 1, log.head + 1)), "no gaps")
        self.assertEqual([item["seq"] for item in items], sorted({item["seq"] for item in items}), "in order, once")
        kinds = [(item["path"], set(item["kinds"])) for item in items]
        for path, expected in [  # (what else happened in the same second may re-date: "edit")
            ("ordner", {"create", "order"}),
            ("ordner/seite", {"create"}),
            ("ordner/seite", {"edit"}),
            ("ordner/seite", {"workflow", "sharing"}),  # published: who may see it changed too
            ("ordner/umbenannt", {"move"}),
            ("ordner", {"order"}),
            ("ordner/seite", {"sharing"}),
            ("ordner", {"default_page"}),
            ("ordner", {"default_page", "layout"}),  # a layout takes the default page away
            ("umbenannt", {"move"}),
            ("ordner/datei", {"delete"}),
        ]:
            self.assertTrue(any(path == at and expected <= found for at, found in kinds), (path, expected, kinds))
        tombstone = [item for item in items if item.get("deleted")]
        self.assertEqual(
            [(t["uid"], t["path"], t["portal_type"]) for t in tombstone], [(deleted_uid, "ordner/datei", "File")]
        )
        read = requests.get(
            f"{self.source_url}/@sync-read",
            params={"UID": [page.UID(), moved.UID()]},
            auth=OWNER,
            headers=JSON,
            timeout=60,
        ).json()["items"]
        newest = {item["uid"]: item for item in items if not item.get("deleted")}
        for served in read:
            self.assertEqual(newest[served["UID"]]["revision"]["id"], served["@revision"]["id"])
        self.assertEqual(newest[page.UID()]["meta"], self.listed_meta(page.UID()))
        # The entry of the file before it was deleted is left out (the tombstone is its newest);
        # the log kept its sha256.
        self.assertNotIn(deleted_uid, [item["uid"] for item in items if not item.get("deleted")])
        created_file = [change for change in logged(self.log(), 0).values() if change.uid == deleted_uid][0]
        self.assertEqual(dict(created_file.blobs), {"file": hashlib.sha256(b"bytes of a file").hexdigest()})

    def listed_meta(self, uid):
        page = requests.get(
            f"{self.source_url}/@sync-list", params={"b_size": 1000}, auth=OWNER, headers=JSON, timeout=60
        )
        return {item["UID"]: item.get("meta") for item in page.json()["items"]}[uid]


class TestGetUpdatesFromTheFeed(FeedTestCase):
    def setUp(self):
        super().setUp()
        source = self.on_source()
        self.folder = self.make(source, "Folder", "ordner")
        self.pages = [self.make(self.folder, "Document", f"seite-{i}") for i in range(3)]
        self.news = self.make(self.folder, "News Item", "meldung")
        self.attachment = self.make(
            self.folder, "File", "datei", file=NamedBlobFile(file_bytes(1, 50_000), filename="datei.bin")
        )
        transaction.commit()
        self.make_remote(max_delete_percent=0, full_sync_types=["Folder", "Document", "File"])
        self.run_step("fetch")
        job = self.run_step("import")
        self.assertEqual(list(job.errors), [])

    def test_reorder_sharing_and_default_page_arrive_without_a_listing(self):
        """Read from the feed, not from a listing; the sharing change re-dates nothing, so a
        stock peer's listing shows nothing of it."""
        stock = StockReader(PeerHTTP(self.source_url, *OWNER))
        shared = self.pages[0].UID()
        before = [item.modified for item in stock.listing() if item.uid == shared]
        self.on_source()
        with api.env.adopt_roles(["Manager"]):
            self.folder.moveObjectsToTop(["seite-2"])
            self.pages[0].manage_setLocalRoles("editor", ["Reviewer"])
            self.pages[0].reindexObjectSecurity()
            self.folder.setDefaultPage("seite-1")
        transaction.commit()
        self.assertEqual([item.modified for item in stock.listing() if item.uid == shared], before)
        with requested() as urls:
            job = self.run_step("update")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(listing_requests(urls), [], "the feed, not the listing")
        self.on_portal()
        copy = self.find(self.portal, self.folder.UID())
        self.assertEqual(list(copy.objectIds())[:3], ["seite-2", "seite-0", "seite-1"])
        self.assertEqual(copy.getDefaultPage(), "seite-1")
        page = self.find(self.portal, self.pages[0].UID())
        self.assertIn("Reviewer", dict(page.get_local_roles()).get("editor", ()))
        state = self.remote_state()
        self.assertEqual(state.feed_checkpoint, state.feed_read)
        self.assertEqual(state.feed_checkpoint[1], self.feed().json()["head"])

    def test_deletes_what_the_peer_deleted_in_the_scope_and_confirmed_gone(self):
        source = self.on_source()
        kept = self.make(source, "Folder", "bleibt")
        transaction.commit()
        self.run_step("update")
        self.on_source()
        with api.env.adopt_roles(["Manager"]):
            api.content.delete(obj=self.pages[2], check_linkintegrity=False)
            api.content.delete(obj=self.news, check_linkintegrity=False)  # outside the scope: never synced
        transaction.commit()
        still_there = FeedChange(10**9, kept.UID(), frozenset({"delete"}), "bleibt", "Folder", deleted=True)
        real = StockReader.changes

        def with_a_false_tombstone(reader, since, log):
            changes, last = real(reader, since, log)
            return [*changes, still_there], last

        with mock.patch.object(StockReader, "changes", with_a_false_tombstone):
            job = self.run_step("update")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(job.counts.get("deleted"), 1, dict(job.counts))
        self.assertEqual([w["message"] for w in job.warnings], [STILL_THERE])
        self.on_portal()
        self.assertIsNone(self.find(self.portal, self.pages[2].UID()))
        self.assertIsNotNone(self.find(self.portal, kept.UID()))
        self.assertIsNone(self.find(self.portal, self.news.UID()))
        # Nothing new on the peer: nothing deleted, whatever the index lacks.
        state = self.remote_state()
        del state.index[kept.UID()]
        transaction.commit()
        job = self.run_step("update")
        self.assertFalse(job.counts.get("deleted"), dict(job.counts))
        self.assertIsNotNone(self.find(self.portal, kept.UID()))

    def test_a_checkpoint_the_log_no_longer_reaches_lists_the_peer_once(self):
        self.on_source()
        # Each transaction moves the tail of those before it to the log, which it trims to 1 entry:
        # the first page's edit is dropped by the third transaction.
        with mock.patch.object(changes_module, "MOST", 1), mock.patch.object(changes_module, "SETTLE_AT", 1):
            for page in self.pages:
                page.title = f"{page.title} (neu)"
                page.reindexObject()
                transaction.commit()
        with requested() as urls:
            job = self.run_step("update")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(len(job.warnings), 1)
        self.assertTrue(job.warnings[0]["message"].startswith(FELL_OFF.split("{")[0]), job.warnings[0])
        self.assertTrue(listing_requests(urls), "listed instead")
        self.assertEqual(job.counts.get("updated"), 3, dict(job.counts))
        with requested() as urls:
            again = self.run_step("update")
        self.assertEqual((list(again.warnings), listing_requests(urls)), ([], []), "the feed again from there")

    def test_compacted_entries_still_bring_every_change(self):
        checkpoint = self.remote_state().feed_checkpoint[1]
        self.on_source()
        with mock.patch.object(changes_module, "RECENT", 0):  # compact at once
            for title in ("Erst", "Dann"):
                self.pages[0].title = title
                self.pages[0].reindexObject()
                transaction.commit()
            self.folder.moveObjectsToBottom(["seite-0"])  # the folder's "order" entry...
            transaction.commit()
            self.folder.title = "Umbenannt"  # ... superseded by its edit: the kinds are kept
            self.folder.reindexObject()
            transaction.commit()
            self.log().settle()  # (the newest entries are compacted once in the log)
            transaction.commit()
        entries = [item for item in self.entries(checkpoint) if item["path"]]
        self.assertEqual(sorted(item["path"] for item in entries), ["ordner", "ordner/seite-0"])
        self.assertIn("order", [item for item in entries if item["path"] == "ordner"][0]["kinds"])
        job = self.run_step("update")
        self.assertEqual((list(job.errors), list(job.warnings)), ([], []))
        self.on_portal()
        copy = self.find(self.portal, self.folder.UID())
        self.assertEqual((copy.title, copy["seite-0"].title), ("Umbenannt", "Dann"))
        self.assertEqual(copy.objectIds()[-1], "seite-0")

    def test_a_malformed_feed_lists_the_peer_instead(self):
        self.on_source()
        self.pages[0].title = "Neu"
        self.pages[0].reindexObject()
        transaction.commit()
        with mock.patch.object(StockReader, "changes", side_effect=FeedError("its entry 7 is odd")):
            job = self.run_step("update")
        self.assertEqual(list(job.errors), [])
        self.assertEqual([w["message"] for w in job.warnings], [UNUSABLE.format("its entry 7 is odd")])
        self.assertEqual(job.counts.get("updated"), 1, dict(job.counts))

    def test_an_unchanged_file_is_not_downloaded_again(self):
        self.on_source()
        self.attachment.title = "Neuer Titel"
        self.attachment.file.filename = "umbenannt.bin"
        self.attachment.reindexObject()
        transaction.commit()
        with requested() as urls:
            job = self.run_step("update")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(job.counts.get("updated"), 1, dict(job.counts))
        self.assertEqual(downloads(urls), [])
        self.on_portal()
        copy = self.find(self.portal, self.attachment.UID())
        self.assertEqual((copy.title, copy.file.filename), ("Neuer Titel", "umbenannt.bin"))
        self.assertEqual(copy.file.data, self.attachment.file.data)


class TestBlobsOnImport(FeedTestCase):
    def test_a_file_held_here_already_is_copied_not_downloaded(self):
        data = file_bytes(7, 120_000)
        source = self.on_source()
        original = self.make(source, "File", "bericht", file=NamedBlobFile(data, filename="bericht.bin"))
        other = self.make(source, "File", "anders", file=NamedBlobFile(file_bytes(8, 999), filename="anders.bin"))
        transaction.commit()
        portal = self.on_portal()
        self.make(portal, "File", "lokal", file=NamedBlobFile(data, filename="lokal.bin"))  # not synced
        transaction.commit()
        self.make_remote()
        self.run_step("fetch")
        with requested() as urls:
            job = self.run_step("import")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(job.counts.get("created"), 2, dict(job.counts))
        fetched = downloads(urls)
        self.assertEqual(len(fetched), 1, fetched)
        self.assertIn("anders", fetched[0])
        self.on_portal()
        copy = self.find(self.portal, original.UID())
        self.assertEqual((copy.file.data, copy.file.filename), (data, "bericht.bin"))
        self.assertEqual(self.find(self.portal, other.UID()).file.data, other.file.data)


class TestFaithfulFromTheFeed(FeedTestCase):
    def test_a_few_edits_give_a_copy_equal_to_the_peer_and_an_idle_run_writes_nothing(self):
        source = self.on_source()
        corpus = build_corpus(source, 25)
        transaction.commit()
        self.make_remote(max_delete_percent=0)
        self.run_step("fetch")
        self.assertEqual(list(self.run_step("import").errors), [])
        by_type = {}
        for obj in corpus:
            by_type.setdefault(obj.portal_type, []).append(obj)
        self.on_source()
        with api.env.adopt_roles(["Manager"]):
            page = by_type["Document"][0]
            page.title = "Geändert"
            page.reindexObject()
            api.content.transition(obj=by_type["News Item"][0], transition="publish")
            api.content.rename(obj=by_type["File"][0], new_id="umbenannte-datei")
            api.content.move(source=source["folder-0"]["folder-1"]["folder-2"], target=source)
            source["folder-0"].moveObjectsToBottom([source["folder-0"].objectIds()[0]])
            source["folder-0"].manage_setLocalRoles("editor", ["Reader"])
            source["folder-0"].reindexObjectSecurity()
            api.content.delete(obj=by_type["Event"][0], check_linkintegrity=False)
            api.content.create(source["folder-0"], "Document", id="neu", title="Neu")
        transaction.commit()
        with requested() as urls:
            job = self.run_step("update")
        self.assertEqual((list(job.errors), job.counts.get("conflicts")), ([], None), dict(job.counts))
        self.assertEqual(listing_requests(urls), [], list(job.warnings))
        self.assertEqual(job.counts.get("deleted"), 1, dict(job.counts))
        plone_url = f"http://{self.layer['host']}:{self.layer['port']}/plone"
        differences = compare_sites(self.source_url, plone_url, OWNER, OWNER)
        self.assertEqual(differences, [], format_differences(differences))

        before = FaithfulTestCase.content_serials(self)
        last = self.portal._p_jar.db().storage.lastTransaction()
        job = self.run_step("update")
        self.assertEqual(list(job.errors), [])
        self.assertFalse(any(job.counts.get(key) for key in ("created", "updated", "moved", "deleted")))
        self.assertEqual(FaithfulTestCase.content_serials(self), before)
        written = FaithfulTestCase.written_classes(self, last)
        self.assertLessEqual(written, BOOKKEEPING - {"SyncState"}, "only the job's record and the run's")


class TestStockPeer(FeedTestCase):
    def test_a_stock_peer_is_listed(self):
        self.make_source_stock()
        source = self.on_source()
        self.make(source, "Document", "seite")
        transaction.commit()
        self.make_remote()
        self.run_step("fetch")
        self.run_step("import")
        self.on_source()
        source["seite"].title = "Neu"
        source["seite"].reindexObject()
        transaction.commit()
        with requested() as urls:
            job = self.run_step("update")
        self.assertEqual((list(job.errors), list(job.warnings)), ([], []))
        self.assertTrue(listing_requests(urls))
        self.assertEqual(job.counts.get("updated"), 1, dict(job.counts))
        self.assertEqual(self.remote_state().feed_checkpoint, ("", -1))


class TestChangeLog(unittest.TestCase):
    """The log alone: compaction and its bound."""

    def log_of(self, *changes: tuple[str, str]) -> ChangeLog:
        log = ChangeLog()
        for uid, kind in changes:
            log.extend([Change(uid, (kind,), f"ordner/{uid}", "Document")])
        log.settle()
        return log

    def test_old_entries_compact_to_the_newest_of_each_uid_with_their_kinds(self):
        log = self.log_of(
            ("a", "create"), ("b", "create"), ("a", "order"), ("a", "edit"), ("c", "create"), ("b", "edit")
        )
        log.compact(budget=100, recent=2)
        # 1..4 are old: a@1, b@2 and a@3 give way to the newest of their UIDs, a@4 and b@6.
        self.assertEqual(list(log.entries.keys()), [4, 5, 6])
        self.assertEqual(log.entries[4].kinds, ("create", "edit", "order"))
        self.assertEqual(log.entries[6].kinds, ("create", "edit"))
        self.assertEqual((log.compacted, log.floor, log.size), (4, 0, 3))
        log = self.log_of(("a", "create"), ("a", "edit"), ("a", "move"), ("b", "create"))
        log.compact(budget=1, recent=0)  # a budget: so many entries at a time
        self.assertEqual(list(log.entries.keys()), [2, 3, 4])
        log.compact(budget=1, recent=0)
        self.assertEqual(list(log.entries.keys()), [3, 4])
        self.assertEqual(log.entries[3].kinds, ("create", "edit", "move"))

    def test_an_entry_compacted_already_goes_when_a_later_one_supersedes_it(self):
        log = self.log_of(("a", "order"), ("b", "create"))
        log.compact(budget=100, recent=0)
        self.assertEqual((list(log.entries.keys()), log.compacted), ([1, 2], 2))
        log.extend([Change("a", ("edit",), "ordner/a", "Document")])
        log.settle()
        self.assertEqual(list(log.entries.keys()), [2, 3])
        self.assertEqual((log.entries[3].kinds, log.size), (("edit", "order"), 2))

    def test_beyond_its_size_the_oldest_entries_go_and_the_floor_rises(self):
        log = self.log_of(*[(f"uid{i}", "create") for i in range(6)])
        log.trim(4)
        self.assertEqual(list(log.entries.keys()), [3, 4, 5, 6])
        self.assertEqual((log.floor, log.head, log.size), (2, 6, 4))
        self.assertNotIn("uid0", log.latest)
        log.restart()  # a change the log could not describe: everyone lists again
        self.assertEqual((log.floor, log.head), (7, 7))


def two_writers(test: unittest.TestCase, committed: int = 0):
    """A change log with ``committed`` entries on a FileStorage (as deployed), and two
    connections to it, each in a transaction of its own: [(transaction manager, log), ...]."""
    tmp = tempfile.TemporaryDirectory()
    test.addCleanup(tmp.cleanup)
    db = ZODB.DB(FileStorage(os.path.join(tmp.name, "Data.fs")))
    test.addCleanup(db.close)
    writers = []
    for _ in range(2):
        manager = transaction.TransactionManager()
        connection = db.open(transaction_manager=manager)
        test.addCleanup(connection.close)
        writers.append((manager, connection))
    manager, connection = writers[0]
    log = connection.root()["log"] = ChangeLog()
    log.extend([Change(f"old{i}", ("create",), f"old{i}", "Document") for i in range(committed)])
    manager.commit()
    for manager, _connection in writers:
        manager.begin()
    return [(manager, connection.root()["log"]) for manager, connection in writers]


def new(uid: str) -> Change:
    return Change(uid, ("create",), f"ordner/{uid}", "Document")


class TestCommitOrder(unittest.TestCase):
    """Two transactions that log changes at once on a FileStorage: the one that commits later
    is renumbered after the other by the tail's conflict resolution, not refused."""

    def test_a_late_commit_is_numbered_after_the_first(self):
        (first, log1), (second, log2) = two_writers(self, committed=1)
        log1.extend([new("a"), new("b")])
        log2.extend([new("c")])
        self.assertEqual(log2.head, 2, "numbered after the head it read, for now")
        first.commit()
        second.commit()  # resolved: no ConflictError
        first.begin()
        self.assertEqual(
            [(seq, change.uid) for seq, change in log1.page(0, 10)], [(1, "old0"), (2, "a"), (3, "b"), (4, "c")]
        )
        self.assertEqual((log1.head, log1.has_after(3), log1.has_after(4)), (4, True, False))

    def test_entries_moved_to_the_log_by_one_and_added_by_the_other(self):
        (first, log1), (second, log2) = two_writers(self, committed=3)
        log1.settle()
        log1.extend([new("a")])
        log2.extend([new("b"), new("c")])
        second.commit()
        first.commit()  # it moved 1..3 and added one: resolved after the other's two
        second.begin()
        self.assertEqual(
            [(seq, change.uid) for seq, change in log2.page(0, 10)],
            [(1, "old0"), (2, "old1"), (3, "old2"), (4, "b"), (5, "c"), (6, "a")],
        )
        self.assertEqual(list(log2.entries.keys()), [1, 2, 3])
        self.assertEqual([seq for seq, _change in log2.tail.entries], [4, 5, 6])
        self.assertEqual((log2.newest_seq("a"), log2.newest_seq("old1")), (6, 2))

    def test_two_that_logged_the_same_object_conflict_and_the_retry_describes_it_again(self):
        (first, log1), (second, log2) = two_writers(self, committed=1)
        log1.extend([Change("x", ("edit",), "ordner/x", "Document", modified="2026-12-02T10:00:00")])
        log2.extend([Change("x", ("sharing",), "ordner/x", "Document", modified="2026-12-02T09:00:00")])
        first.commit()
        with self.assertRaises(ConflictError):
            second.commit()
        second.abort()
        log2.extend([Change("x", ("sharing",), "ordner/x", "Document", modified="2026-12-02T10:00:00")])
        second.commit()
        first.begin()
        self.assertEqual(
            [(seq, change.modified) for seq, change in log1.page(1, 10)],
            [(2, "2026-12-02T10:00:00"), (3, "2026-12-02T10:00:00")],
        )

    def test_two_that_both_moved_the_tail_conflict(self):
        (first, log1), (second, log2) = two_writers(self, committed=changes_module.SETTLE_AT)
        log1.extend([new("a")])
        log2.extend([new("b")])  # both find the tail long, and move it
        first.commit()
        with self.assertRaises(ConflictError):
            second.commit()
        second.abort()
        log2.extend([new("b")])  # retried, as Zope retries a conflict
        second.commit()
        first.begin()
        numbers = [seq for seq, _change in log1.page(0, 1000)]
        self.assertEqual(numbers, list(range(1, changes_module.SETTLE_AT + 3)))
        self.assertEqual(log1.newest_seq("b"), changes_module.SETTLE_AT + 2)

    def test_a_restart_stays_after_what_committed_before_it(self):
        (first, log1), (second, log2) = two_writers(self, committed=2)
        log1.extend([new("a")])
        log2.restart()
        first.commit()
        second.commit()
        first.begin()
        self.assertEqual((log1.head, log1.floor), (4, 4))


class FakePeer:
    """Answers @sync-changes with pages given by ``since``."""

    url = "https://peer.example"

    def __init__(self, pages: dict) -> None:
        self.pages = pages

    def get_object(self, url, params):
        since = dict(params).get("since")
        answer = self.pages[since] if since is not None else self.pages["order"]
        if isinstance(answer, Exception):
            raise answer
        return answer


def entry(seq: int, uid: str = "a" * 32, **fields) -> dict:
    return {"seq": seq, "uid": uid, "kinds": ["edit"], "path": "ordner/seite", "portal_type": "Document"} | fields


def page(items: list, last: int, head: int | None = None, more: bool = False, log: str = "L") -> dict:
    return {"log": log, "last": last, "head": last if head is None else head, "more": more, "items": items}


class TestUntrustedFeed(unittest.TestCase):
    """The peer's feed is checked as untrusted input: anything odd makes it unusable for the run."""

    def read(self, pages: dict, since: int = 0):
        return read_changes(FakePeer(pages), since, "L", most=100)

    def test_pages_are_followed_to_the_end(self):
        changes, last = self.read({0: page([entry(1), entry(2)], 2, 5, more=True), 2: page([entry(5)], 5)})
        self.assertEqual(([change.seq for change in changes], last), ([1, 2, 5], 5))
        withheld, _last = self.read({0: page([{"seq": 1, "uid": "b" * 32, "withheld": True}], 1)})
        self.assertTrue(withheld[0].withheld and not withheld[0].live)

    def test_malformed_feeds_are_refused(self):
        for label, pages in {
            "not a number": {0: page([entry("1")], 1)},
            "misordered": {0: page([entry(2), entry(1)], 2)},
            "beyond its page": {0: page([entry(3)], 2, 5, more=True)},
            "not after since": {0: page([entry(0)], 1)},
            "no UID": {0: page([entry(1, uid="a/b")], 1)},
            "a path that climbs": {0: page([entry(1, path="ordner/../../etc")], 1)},
            "kinds not a list": {0: page([entry(1, kinds="edit")], 1)},
            "parents not UIDs": {0: page([entry(1, parents=["x y"])], 1)},
            "no type": {0: page([entry(1, portal_type=None)], 1)},
            "deleted not a flag": {0: page([entry(1, deleted="yes")], 1)},
            "no checkpoint": {0: {"log": "L", "head": 1, "more": False, "items": []}},
            "a head below its last": {0: page([], 5, 3)},
            "a last before since": {4: page([], 3, 9)},
            "does not advance": {0: page([], 0, 9, more=True)},
            "an entry that is no object": {0: page(["x"], 1)},
        }.items():
            with self.subTest(label), self.assertRaises(FeedError):
                self.read(pages, since=min(pages))
        with self.assertRaises(FeedError):  # longer than a listing may be
            read_changes(FakePeer({0: page([entry(i) for i in range(1, 5)], 4)}), 0, "L", most=3)

    def test_another_log_or_a_410_means_list_again(self):
        with self.assertRaises(FeedGone):
            self.read({0: page([], 0, log="other")})
        with self.assertRaises(FeedGone):
            self.read({0: PeerGone("410")})

    def test_folder_orders_are_lists_of_ids(self):
        peer = FakePeer({"order": {"order": {"f" * 32: ["a", "b"], "e" * 32: "ab"}}})
        with self.assertRaises(FeedError):
            folder_orders(peer, ["f" * 32, "e" * 32], 100)
        peer = FakePeer({"order": {"order": {"f" * 32: ["a", "b"]}}})
        self.assertEqual(folder_orders(peer, ["f" * 32, "e" * 32], 100), {"f" * 32: ["a", "b"]})


class Rules:
    """A remote's type rules, as TypeRules reads them."""

    full_sync_types = ["Document"]
    skipped_types = update_only_types = prefixable_types = readonly_types = []
    remote_prefix = local_prefix = ""


def item(uid: str, path: str, portal_type: str = "Document") -> ListingItem:
    return ListingItem(uid * 32, path, portal_type, "2026-01-01T00:00:00+00:00", "private")


class TestIndexFromTheFeed(unittest.TestCase):
    """The feed's changes make the index a listing would: the folders objects in scope need,
    and no more; tombstones of objects out of the scope change nothing."""

    def setUp(self):
        self.rules = TypeRules(Rules())
        self.state = SyncState()
        listed = [item("a", "ordner", "Folder"), item("b", "ordner/seite"), item("c", "ordner/bild", "Image")]
        self.state.index, self.state.paths = build_index(listed, self.rules)

    def update(self, live=(), parents=None, removed=(), found=()):
        update = IndexUpdate(self.state, self.rules)
        update.apply({entry.uid: entry for entry in live}, parents or {}, list(removed), lambda uids: list(found))
        return update

    def indexed(self):
        return {uid[0]: (entry.path, entry.role) for uid, entry in self.state.index.items()}

    def test_folders_come_and_go_with_what_they_hold(self):
        self.assertEqual(self.indexed(), {"a": ("ordner", "parent"), "b": ("ordner/seite", "sync")})
        # a change of what the index does not hold (who may see them): their entries stay as they are
        unchanged = self.update([item("b", "ordner/seite"), item("a", "ordner", "Folder")])
        self.assertEqual(unchanged.touched, set())
        # a new page in a folder not in the index: the folder is asked for, as a container
        update = self.update([item("d", "archiv/neu")], {"d" * 32: ("e" * 32,)}, found=[item("e", "archiv", "Folder")])
        self.assertEqual(self.indexed()["e"], ("archiv", "parent"))
        self.assertEqual(update.touched, {"d" * 32, "e" * 32})
        # the last page of a folder goes: so does the folder
        self.update(removed=["b" * 32])
        self.assertNotIn("a", self.indexed())
        # a tombstone of an object out of the scope (never indexed): nothing changes
        before = self.indexed()
        update = self.update(removed=["c" * 32])
        self.assertEqual((self.indexed(), update.touched), (before, set()))

    def test_what_a_listing_would_index(self):
        changes = [item("d", "archiv/neu"), item("e", "archiv", "Folder"), item("b", "archiv/seite")]
        self.update(changes, {"d" * 32: ("e" * 32,), "b" * 32: ("e" * 32,)})
        listed = [item("a", "ordner", "Folder"), item("c", "ordner/bild", "Image"), *changes]
        index, paths = build_index(listed, self.rules)
        self.assertEqual(dict(self.state.index.items()), dict(index.items()))
        self.assertEqual(dict(self.state.paths.items()), dict(paths.items()))


class TestPositions(unittest.TestCase):
    """Positions order siblings: a change of a folder's order rewrites only the entries it moved,
    and a folder's children are found without going over the whole index."""

    def setUp(self):
        self.rules = TypeRules(Rules())
        self.state = SyncState()
        names = ["a", "b", "c", "d", "e"]
        listed = [item("f", "ordner", "Folder")] + [item(n, f"ordner/{n}") for n in names]
        listed = [replace(entry, position=number) for number, entry in enumerate(listed)]
        self.state.index, self.state.paths = build_index(listed, self.rules)

    def place(self, ids: list[str]) -> set[str]:
        update = IndexUpdate(self.state, self.rules)
        change = FeedChange(1, "f" * 32, frozenset({"order"}), "ordner", "Folder")
        update.place(lambda uids: {"f" * 32: ids}, [change])
        return {uid[0] for uid in update.touched}

    def order(self) -> list[str]:
        return [uid[0] for _position, uid in sorted((e.position, u) for u, e in self.state.children("ordner"))]

    def test_a_removal_or_an_append_rewrites_no_sibling(self):
        del self.state.index["b" * 32], self.state.paths["ordner/b"]
        self.assertEqual(self.place(["a", "c", "d", "e"]), set())
        self.state.index["g" * 32] = self.state.index["a" * 32]._replace(path="ordner/g", position=UNPLACED)
        self.state.paths["ordner/g"] = "g" * 32
        self.assertEqual(self.place(["a", "c", "d", "e", "g"]), {"g"})
        self.assertEqual(self.order(), ["a", "c", "d", "e", "g"])

    def test_a_move_within_the_folder_rewrites_what_it_passed(self):
        self.assertEqual(self.place(["e", "a", "b", "c", "d"]), {"a", "b", "c", "d"})
        self.assertEqual(self.order(), ["e", "a", "b", "c", "d"])
        # b moves after c: the siblings before it stay; d follows b, at most one number on
        self.assertEqual(self.place(["e", "a", "c", "b", "d"]) & {"e", "a", "c", "b"}, {"b"})
        self.assertEqual(self.order(), ["e", "a", "c", "b", "d"])

    def test_children_are_those_right_inside_whatever_their_names_sort_like(self):
        state = SyncState()
        paths = ["x", "x-2", "x/y", "x/y/z", "x.b", "x0", "xa", "x/y-1", "w", "w/x"]
        listed = [item(chr(ord("a") + number), path, "Folder") for number, path in enumerate(paths)]
        state.index, state.paths = build_index(listed, TypeRules(FolderRules()))
        self.assertEqual(sorted(entry.path for _uid, entry in state.children("")), ["w", "x", "x-2", "x.b", "x0", "xa"])
        self.assertEqual(sorted(entry.path for _uid, entry in state.children("x")), ["x/y", "x/y-1"])
        self.assertEqual([entry.path for _uid, entry in state.children("x/y")], ["x/y/z"])
        self.assertEqual(state.children("x/y/z"), [])


class FolderRules(Rules):
    full_sync_types = ["Folder"]


class TestConcurrentWriters(FeedTestCase):
    def test_numbers_follow_the_commits_without_a_gap_a_reader_could_see(self):
        source = self.on_source()
        for name in ("a", "b"):
            self.make(source, "Folder", f"thread-{name}")
        transaction.commit()
        start = self.feed().json()["head"]
        db = self.app._p_jar.db()
        barrier = threading.Barrier(2, timeout=30)
        writing = threading.Event()
        conflicts, failures, seen, resolved = [], [], [], []
        resolve = ChangeTail._p_resolveConflict

        def counted(tail, *states):
            resolved.append(1)
            return resolve(tail, *states)

        created = {"a": [], "b": []}

        def writer(name: str) -> None:
            try:
                with as_system(db, "tester") as app:
                    site = app[SOURCE_SITE_ID]
                    setSite(site)
                    for i in range(8):
                        for attempt in range(20):
                            transaction.begin()
                            page = api.content.create(site[f"thread-{name}"], "Document", id=f"{name}-{i}")
                            if attempt == 0:
                                barrier.wait()  # both have begun: their commits interleave
                            try:
                                transaction.commit()
                            except ConflictError:
                                conflicts.append(name)
                                continue
                            created[name].append(page.UID())
                            break
            except Exception as error:  # noqa: BLE001 -- reported by the test
                failures.append(error)
                barrier.abort()

        def reader() -> None:
            since = start
            while True:
                written = not writing.is_set()  # before the request: then its answer holds all
                page = self.feed(since=since).json()
                seen.extend(item["seq"] for item in page["items"])
                since = page["last"]
                if written and not page["more"]:
                    return

        writing.set()
        patched = mock.patch.object(ChangeTail, "_p_resolveConflict", counted)
        patched.start()
        self.addCleanup(patched.stop)
        threads = [threading.Thread(target=writer, args=(name,)) for name in "ab"]
        watcher = threading.Thread(target=reader)
        for thread in [*threads, watcher]:
            thread.start()
        for thread in threads:
            thread.join(120)
        writing.clear()
        watcher.join(120)
        self.assertEqual(failures, [])
        self.assertTrue(resolved, "the two threads' commits did interleave: the tail's conflicts were resolved")
        log = self.log()
        entries = logged(log, start)
        numbers = list(entries)
        self.assertEqual(numbers, list(range(start + 1, log.head + 1)), "every number given, once")
        self.assertEqual(seen, numbers, "a reader following the feed meanwhile saw each entry once, in order")
        creates = [entries[seq].uid for seq in numbers if entries[seq].kinds == ("create",)]
        self.assertEqual(sorted(creates), sorted(created["a"] + created["b"]))
        for name in "ab":  # each thread's own changes are numbered in the order it committed them
            mine = [creates.index(uid) for uid in created[name]]
            self.assertEqual(mine, sorted(mine))


class TestWithheld(FeedTestCase):
    def test_what_the_caller_may_not_see_is_withheld_and_its_copy_goes(self):
        source = self.on_source()
        folder = self.make(source, "Folder", "ordner")
        hidden = self.make(folder, "Document", "verborgen")
        gone = self.make(folder, "Document", "weg")
        transaction.commit()
        self.make_remote(max_delete_percent=0)
        self.run_step("fetch")
        self.run_step("import")
        head = self.feed().json()["head"]
        self.on_source()
        for page in (hidden, gone):  # only Reviewers may see them: not the remote's Manager
            page.manage_permission("Access contents information", ["Reviewer"], acquire=0)
            page.manage_permission("View", ["Reviewer"], acquire=0)
            page.reindexObjectSecurity()
        transaction.commit()
        with api.env.adopt_roles(["Manager"]):
            api.content.delete(obj=gone, check_linkintegrity=False)
        transaction.commit()
        items = self.entries(head)
        self.assertEqual(
            sorted((item["uid"], item.get("withheld")) for item in items if item["uid"] in (hidden.UID(), gone.UID())),
            sorted([(hidden.UID(), True), (gone.UID(), True)]),
        )
        self.assertTrue(all(set(item) == {"seq", "uid", "withheld"} for item in items if item.get("withheld")))
        job = self.run_step("update")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(job.counts.get("deleted"), 2, dict(job.counts))  # as the listing would: gone for this user
        self.on_portal()
        self.assertIsNone(self.find(self.portal, hidden.UID()))
