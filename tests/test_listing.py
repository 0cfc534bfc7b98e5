"""The peer's listing is complete, and Get Updates deletes a copy only when the peer confirms it is gone.

A small listing page size (product-config ``listing-page-size``) makes the page-boundary
cases happen with a few hundred objects, which share their positions (every folder has a
child at position 0, 1, 2...): a sort on the position alone has ties on every page.
"""

import time
from contextlib import contextmanager
from unittest import mock

import requests
import transaction
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD

from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.peer import listing as listing_module
from senaite_style_sync.peer.errors import PeerError
from senaite_style_sync.peer.http import PeerHTTP
from senaite_style_sync.peer.readers import AddonReader
from senaite_style_sync.peer.readers import StockReader
from senaite_style_sync.testing import wait_for_job_threads
from tests.servers import fault_proxy
from tests.sync_helpers import SyncTestCase


OWNER = (SITE_OWNER_NAME, SITE_OWNER_PASSWORD)
PAGE_SIZE = 20
FOLDERS = 12
CHILDREN = 20
JOB_TIMEOUT = 120


@contextmanager
def page_size(size: int):
    with mock.patch.object(listing_module, "product_config", return_value={"listing-page-size": str(size)}):
        yield


def build_flat_corpus(site) -> list:
    """FOLDERS folders of CHILDREN documents each: positions 0..CHILDREN-1 repeat in every folder."""
    created = []
    with api.env.adopt_roles(["Manager"]):
        for f in range(FOLDERS):
            folder = api.content.create(site, "Folder", id=f"f{f}", title=f"Folder {f}")
            created.append(folder)
            for c in range(CHILDREN):
                created.append(api.content.create(folder, "Document", id=f"d{c}", title=f"Doc {f}/{c}"))
    return created


class ListingTestCase(SyncTestCase):
    def setUp(self):
        super().setUp()
        self.on_source()
        self.corpus = build_flat_corpus(self.source)
        transaction.commit()
        self.uids = {obj.UID() for obj in self.corpus}

    def client(self, url=None) -> StockReader:
        return StockReader(PeerHTTP(url or self.source_url, *OWNER))

    def copies(self) -> set[str]:
        """UIDs of the content objects inside ``plone``."""
        transaction.begin()
        prefix = "/".join(self.portal.getPhysicalPath()) + "/"
        return {
            brain.UID
            for brain in self.portal.portal_catalog.unrestrictedSearchResults(path=prefix.rstrip("/"))
            if brain.getPath().startswith(prefix)
        }

    @contextmanager
    def changed_after_page(self, page: int, changes: list[tuple[str, str, str | None]]):
        """Make ``changes`` (method, path, moved object's path) on the real peer right after the
        listing's ``page``-th page that starts after a UID; yields the pages' URLs."""
        real_get_object = PeerHTTP.get_object
        pages = []

        def get_object(http, url, params=None):
            result = real_get_object(http, url, params)
            if any(key == "UID.query" for key, _value in params or ()):
                pages.append(url)
                if len(pages) == page:
                    for method, path, moved in changes:
                        self.peer_change(method, path, **({"source": [f"{self.source_url}/{moved}"]} if moved else {}))
            return result

        with mock.patch.object(PeerHTTP, "get_object", get_object):
            yield pages

    def peer_change(self, method, path, **body):
        response = requests.request(
            method,
            f"{self.source_url}/{path}",
            auth=OWNER,
            json=body or None,
            headers={"Accept": "application/json"},
            timeout=30,
        )
        self.assertLess(response.status_code, 300, response.text)


class TestCompleteListing(ListingTestCase):
    def test_offset_pages_sorted_on_the_position_alone_repeat_and_lose_objects(self):
        """The cause of the false deletions: the catalog sorts pages in the second half of a
        result set in reverse (ZCatalog's ``switched_reverse``), and ties on the position
        then fall in another order, so offsets repeat some objects and skip others."""
        seen, start, total = [], 0, 1
        while start < total:
            params = {
                "sort_on": "getObjPositionInParent",
                "metadata_fields": "UID",
                "b_start": start,
                "b_size": PAGE_SIZE,
            }
            page = requests.get(
                f"{self.source_url}/@search",
                params=params,
                auth=OWNER,
                timeout=30,
                headers={"Accept": "application/json"},
            ).json()
            seen += [item["UID"] for item in page["items"]]
            start, total = start + PAGE_SIZE, page["items_total"]
        self.assertEqual(len(seen), total)  # the site root too
        self.assertLess(len(set(seen)), total, "offset pages happened to be complete")

    def test_every_object_exactly_once_across_many_small_pages(self):
        with page_size(PAGE_SIZE):
            client = self.client()
            items = client.listing()
        uids = [item.uid for item in items]
        self.assertEqual(len(uids), len(set(uids)), "an object was listed twice")
        self.assertEqual(set(uids), self.uids)
        # Each object's position is its place among its listed siblings (the site root's
        # tools are no content), not its place in the whole listing.
        for parent in [self.source] + [obj for obj in self.corpus if obj.portal_type == "Folder"]:
            parent_path = "" if parent is self.source else parent.getId()
            children = sorted((item.position, item.id) for item in items if item.parent_path == parent_path)
            self.assertEqual([position for position, _id in children], list(range(len(children))))
            listed = {item_id for _position, item_id in children}
            self.assertEqual(
                [item_id for _position, item_id in children],
                [item_id for item_id in parent.objectIds() if item_id in listed],
            )

    def test_positions_follow_a_custom_order(self):
        folder = self.source["f3"]
        folder.moveObjectsToTop(["d7", "d19"])
        transaction.commit()
        with page_size(PAGE_SIZE):
            items = self.client().listing()
        in_folder = sorted((item.position, item.id) for item in items if item.parent_path == "f3")
        self.assertEqual([item_id for _position, item_id in in_folder], list(folder.objectIds()))

    def test_changes_between_pages_neither_hide_nor_repeat_an_object(self):
        """Deletions and moves on the real peer while the listing pages through it."""
        deleted_uid = self.source["f0"]["d3"].UID()
        moved_uid = self.source["f5"]["d11"].UID()
        changes = [("DELETE", "f0/d3", None), ("POST", "f9/@move", "f5/d11"), ("POST", "f2/@move", "f4/d0")]
        with page_size(PAGE_SIZE), self.changed_after_page(1, changes) as pages:
            items = self.client().listing()
        self.assertGreater(len(pages), 2)
        uids = [item.uid for item in items]
        self.assertEqual(len(uids), len(set(uids)), "an object was listed twice")
        existing = self.uids - {deleted_uid}
        self.assertLessEqual(existing, set(uids), "an object that exists was not listed")
        self.assertLessEqual(set(uids), self.uids)
        self.assertIn(moved_uid, uids)

    def test_a_short_page_is_an_error(self):
        faults = {"UID.query": "truncate"}
        with fault_proxy(self.layer["host"], self.layer["port"], faults) as proxy:
            with page_size(PAGE_SIZE):
                client = self.client(f"{proxy}/source")
                with self.assertRaises(PeerError) as raised:
                    client.listing()
        self.assertIn("incomplete", str(raised.exception))


class TestGetUpdatesDeletesOnlyWhatIsGone(ListingTestCase):
    """Get Updates from the listing, as from a peer that serves no change feed (the feed has its
    own tests: test_change_feed.py)."""

    def setUp(self):
        super().setUp()
        no_feed = mock.patch.object(StockReader, "changes_head", return_value=None)
        no_feed.start()
        self.addCleanup(no_feed.stop)

    def import_all(self, **settings):
        with page_size(PAGE_SIZE):
            self.make_remote(**settings)
            job = self.run_step("fetch")
            self.assertEqual(list(job.errors), [])
            job = self.run_step("import")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(job.counts.get("created"), len(self.uids))
        self.assertEqual(self.copies(), self.uids)

    def test_edits_delete_nothing(self):
        self.import_all()
        self.peer_change("PATCH", "f1/d4", title="Edited 1")
        self.peer_change("PATCH", "f11/d19", title="Edited 2")
        with page_size(PAGE_SIZE):
            job = self.run_step("update")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(job.counts.get("updated"), 2)
        self.assertNotIn("deleted", job.counts)
        self.assertEqual(self.copies(), self.uids)

    def test_peer_changed_during_the_listing_deletes_only_what_it_deleted(self):
        self.import_all()
        deleted_uid = self.source["f6"]["d2"].UID()
        changes = [("DELETE", "f6/d2", None), ("POST", "f8/@move", "f7/d5")]
        with page_size(PAGE_SIZE), self.changed_after_page(2, changes):
            job = self.run_step("update")
        self.assertEqual(list(job.errors), [])
        with page_size(PAGE_SIZE):
            job = self.run_step("update")  # the deletion may have come after its page
        self.assertEqual(list(job.errors), [])
        self.assertEqual(self.copies(), self.uids - {deleted_uid})
        transaction.begin()
        moved = self.find(self.portal, self.source["f8"]["d5"].UID())
        self.assertEqual(moved.aq_parent.getId(), "f8")

    def test_a_listing_missing_an_object_does_not_delete_its_copy(self):
        """Should the listing leave out an object the peer still has, the peer is asked by UID."""
        self.import_all()
        hidden = self.source["f10"]["d10"].UID()
        real_listing = AddonReader.listing  # the peer has this add-on

        def listing(client, on_page=None):
            return [item for item in real_listing(client, on_page) if item.uid != hidden]

        with page_size(PAGE_SIZE), mock.patch.object(AddonReader, "listing", listing):
            job = self.run_step("update")
        self.assertEqual(list(job.errors), [])
        self.assertNotIn("deleted", job.counts)
        self.assertEqual(self.copies(), self.uids)
        self.assertEqual([w["object"] for w in job.warnings], ["f10/d10"])
        transaction.begin()
        self.assertIn(hidden, RemoteStorage(self.portal).get("src").state.index)

    def test_a_short_listing_deletes_nothing(self):
        self.import_all()
        faults = {"UID.query": "truncate"}
        with fault_proxy(self.layer["host"], self.layer["port"], faults) as proxy:
            self.on_portal()
            RemoteStorage(self.portal).get("src").url = f"{proxy}/source"
            transaction.commit()
            with page_size(PAGE_SIZE), self.assertRaises(PeerError):
                self.run_step("update")
        transaction.abort()
        self.assertEqual(self.copies(), self.uids)

    def test_an_object_moved_out_of_the_scope_is_kept(self):
        """On the peer but now outside the remote's type rules: the copy stays, no longer synced."""
        self.import_all()
        self.on_portal()
        remote = RemoteStorage(self.portal).get("src")
        remote.skipped_types = ["Document"]
        transaction.commit()
        with page_size(PAGE_SIZE):
            job = self.run_step("update")
        self.assertEqual(list(job.errors), [])
        self.assertNotIn("deleted", job.counts)
        self.assertEqual(self.copies(), self.uids)
        transaction.begin()
        documents = FOLDERS * CHILDREN
        self.assertEqual(len(RemoteStorage(self.portal).get("src").state.synced), len(self.uids) - documents)
        self.assertEqual(job.counts.get("warnings"), documents)


class TestDeletionLimit(ListingTestCase):
    """Deleting more than the remote's share of its scope waits for a user's confirmation."""

    def setUp(self):
        super().setUp()
        self.plone_url = f"http://{self.layer['host']}:{self.layer['port']}/plone"

    def tearDown(self):
        self.assertEqual(wait_for_job_threads(), [])

    def call(self, method, path, **kwargs):
        response = requests.request(
            method, self.plone_url + path, auth=OWNER, headers={"Accept": "application/json"}, timeout=30, **kwargs
        )
        transaction.begin()
        return response

    def run_rest(self, step, expected_state="done"):
        response = self.call("POST", f"/@sync-remotes/src/@{step}")
        self.assertEqual(response.status_code, 202, response.text)
        return self.wait(response.json()["id"], expected_state)

    def wait(self, job_id, expected_state):
        deadline = time.monotonic() + JOB_TIMEOUT
        while True:
            data = self.call("GET", f"/@sync-jobs/{job_id}").json()
            if data["state"] not in ("queued", "running"):
                self.assertEqual(data["state"], expected_state, data)
                return data
            self.assertLess(time.monotonic(), deadline, data)
            time.sleep(0.2)

    def test_a_run_deleting_a_fifth_of_the_scope_waits_and_the_confirmation_deletes_exactly_those(self):
        self.make_remote()
        self.assertEqual(RemoteStorage(self.portal).get("src").max_delete_percent, 10)
        self.run_rest("fetch")
        self.run_rest("import")
        self.assertEqual(self.copies(), self.uids)
        # 3 of 12 folders with their documents: 63 of 252 copies (25 %).
        gone = set()
        for name in ("f2", "f5", "f9"):
            folder = self.source[name]
            gone |= {folder.UID()} | {child.UID() for child in folder.objectValues()}
            self.peer_change("DELETE", name)
        data = self.run_rest("update", "needs-confirmation")
        self.assertEqual(data["counts"].get("deleted", 0), 0)
        self.assertEqual({item["uid"] for item in data["pending_deletes"]}, gone)
        self.assertEqual(self.copies(), self.uids, "nothing may be deleted before the confirmation")

        page = requests.get(f"{self.plone_url}/@@sync-run", params={"job": data["id"]}, auth=OWNER, timeout=30).text
        self.assertIn('id="confirm-deletions"', page)
        self.assertIn("f5/d19", page)

        response = self.call("POST", f"/@sync-jobs/{data['id']}/@confirm-deletions")
        self.assertEqual(response.status_code, 202, response.text)
        deletion = self.wait(response.json()["id"], "done")
        self.assertEqual(deletion["step"], "delete")
        self.assertEqual(deletion["counts"]["deleted"], len(gone))
        self.assertEqual(self.copies(), self.uids - gone)
        held = self.call("GET", f"/@sync-jobs/{data['id']}").json()
        self.assertEqual(held["confirmed_by"], deletion["id"])
        again = self.call("POST", f"/@sync-jobs/{data['id']}/@confirm-deletions")
        self.assertEqual(again.status_code, 409, again.text)

    def test_no_limit_deletes_at_once(self):
        self.make_remote(max_delete_percent=0)
        self.run_rest("fetch")
        self.run_rest("import")
        gone = {self.source["f1"].UID()} | {child.UID() for child in self.source["f1"].objectValues()}
        gone |= {self.source["f3"].UID()} | {child.UID() for child in self.source["f3"].objectValues()}
        self.peer_change("DELETE", "f1")
        self.peer_change("DELETE", "f3")
        data = self.run_rest("update")
        self.assertEqual(data["counts"]["deleted"], len(gone))
        self.assertEqual(self.copies(), self.uids - gone)

    def test_confirming_a_run_without_held_deletions_is_refused(self):
        self.make_remote()
        data = self.run_rest("fetch")
        response = self.call("POST", f"/@sync-jobs/{data['id']}/@confirm-deletions")
        self.assertEqual(response.status_code, 409, response.text)
        self.assertEqual(self.call("POST", "/@sync-jobs/nope/@confirm-deletions").status_code, 404)
