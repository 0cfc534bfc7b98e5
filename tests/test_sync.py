"""Fetch, Import and Get Updates between two real Plone sites over HTTP."""

import re
from unittest import mock

import transaction
from plone import api
from plone.app.linkintegrity.utils import getOutgoingLinks
from plone.app.testing import SITE_OWNER_NAME

from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.peer.http import PeerHTTP
from senaite_style_sync.sync.local import iso
from senaite_style_sync.sync.read_ahead import read_chunks
from tests.corpus import build_corpus
from tests.sync_helpers import SyncTestCase
from tests.sync_helpers import checksum


def relative(site, obj) -> str:
    return "/".join(obj.getPhysicalPath()[len(site.getPhysicalPath()) :])


class TestImport(SyncTestCase):
    """From a peer that has the add-on: objects come with their local roles from @sync-read."""

    stock_peer = False

    def test_fetch_plans_then_import_copies_faithfully(self):
        if self.stock_peer:
            self.make_source_stock()
        self.on_source()
        originals = build_corpus(self.source, 40)
        # Made by the instance's admin: a user of the Zope root's user folder, not of the site's.
        originals[1].setCreators([SITE_OWNER_NAME])
        originals[1].manage_delLocalRoles([principal for principal, _roles in originals[1].get_local_roles()])
        originals[1].manage_setLocalRoles(SITE_OWNER_NAME, ["Owner"])
        transaction.commit()
        self.make_remote()
        fetched = self.run_step("fetch")
        self.assertEqual(fetched.errors, [], fetched.errors)
        self.assertEqual(fetched.plan["create"], 40)
        self.assertEqual(len(list(api.content.find(context=self.portal, portal_type="Document"))), 0)

        urls = []
        real_request = PeerHTTP.request

        def spy(client, method, url, **kwargs):
            urls.append(url)
            return real_request(client, method, url, **kwargs)

        with mock.patch.object(PeerHTTP, "request", spy):
            job = self.run_step("import")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(list(job.warnings), [])
        self.assertEqual(job.counts.get("created"), 40)
        read_in_bulk = sum(url.endswith("/@sync-read") for url in urls) - 1  # the first one asks if it is served
        self.assertEqual(read_in_bulk, 0 if self.stock_peer else len(read_chunks(["uid"] * 40)))
        self.assertEqual(sum(url.endswith("/@sharing") for url in urls), 40 if self.stock_peer else 0)
        self.on_portal()
        for original in originals:
            with self.subTest(path=relative(self.source, original)):
                copy = api.content.get(UID=original.UID())
                self.assertIsNotNone(copy)
                self.assertEqual(relative(self.portal, copy), relative(self.source, original))
                self.assertEqual(copy.portal_type, original.portal_type)
                self.assertEqual(copy.title, original.title)
                self.assertEqual(
                    api.content.get_state(copy, None),
                    api.content.get_state(original, None),
                    dict(copy.workflow_history),
                )
                self.assertEqual(iso(copy.created()), iso(original.created()))
                self.assertEqual(iso(copy.modified()), iso(original.modified()))
                self.assertEqual(iso(copy.effective()), iso(original.effective()))
                self.assertEqual(copy.creators, original.creators)
                self.assertEqual(copy.Subject(), original.Subject())
                self.assertEqual(copy.Language(), original.Language())
                self.assertEqual(copy.getLayout(), original.getLayout())
                if original.portal_type == "File":
                    self.assertEqual(checksum(copy.file), checksum(original.file))
                    self.assertEqual(copy.file.filename, original.file.filename)
                if original.portal_type == "News Item":
                    self.assertEqual(checksum(copy.image), checksum(original.image))
                if original.portal_type == "Document":
                    self.assertIn("resolveuid/", copy.text.raw)
                    self.assertIn("&lt;b&gt;", copy.text.raw)
                # Link integrity knows what each copy links to (UIDs are kept: the same as in the text).
                text = copy.text.raw if original.portal_type == "Document" else ""
                self.assertEqual(
                    sorted(link.to_object.UID() for link in getOutgoingLinks(copy)),
                    sorted(set(re.findall(r"resolveuid/([0-9a-f]{32})", text))),
                )
                if original.portal_type == "Event":
                    self.assertEqual(copy.start, original.start)
                    self.assertEqual(copy.end, original.end)
                history = [e["review_state"] for e in original.workflow_history.get("simple_publication_workflow", ())]
                if history:
                    copied = [e["review_state"] for e in copy.workflow_history["simple_publication_workflow"]]
                    self.assertEqual(copied, history)
                if original.isPrincipiaFolderish:
                    self.assertEqual(list(copy.objectIds()), list(original.objectIds()))
                    self.assertEqual(
                        getattr(copy.aq_base, "default_page", None), getattr(original.aq_base, "default_page", None)
                    )
                self.assertEqual(
                    {p: set(r) for p, r in copy.get_local_roles()}, {p: set(r) for p, r in original.get_local_roles()}
                )
                self.assertEqual(
                    bool(getattr(copy.aq_base, "__ac_local_roles_block__", False)),
                    bool(getattr(original.aq_base, "__ac_local_roles_block__", False)),
                )
        pages = [o for o in originals if o.portal_type == "Document"]
        copy = api.content.get(UID=pages[0].UID())
        self.assertEqual([r.to_object.UID() for r in copy.relatedItems], [pages[1].UID()])


class TestImportFromStockPeer(TestImport):
    """From a peer with plone.restapi only: local roles come from one @sharing per object."""

    stock_peer = True


def content_serials(site) -> dict:
    """Path -> ZODB serial of every catalogued object: equal before and after means nothing was written."""
    catalog = site.portal_catalog
    return {brain.getPath(): brain._unrestrictedGetObject()._p_serial for brain in catalog.unrestrictedSearchResults()}


class TestIdempotentAndUpdates(SyncTestCase):
    def setUp(self):
        super().setUp()
        self.on_source()
        self.originals = build_corpus(self.source, 25)
        transaction.commit()
        self.make_remote()
        self.run_step("fetch")
        first = self.run_step("import")
        self.assertEqual(list(first.errors), [])

    def test_second_import_and_update_write_nothing(self):
        self.on_portal()
        before = content_serials(self.portal)
        again = self.run_step("import")
        self.assertEqual(again.counts.get("created", 0) + again.counts.get("updated", 0), 0, dict(again.counts))
        update = self.run_step("update")
        self.assertEqual(list(update.errors), [])
        for key in ("created", "updated", "moved", "deleted"):
            self.assertEqual(update.counts.get(key, 0), 0, (key, dict(update.counts)))
        transaction.begin()
        self.assertEqual(content_serials(self.portal), before)

    def share_page_on_peer(self):
        self.on_source()
        page = [o for o in self.originals if o.portal_type == "Document"][0]
        page.manage_setLocalRoles("editor", ["Reviewer"])  # the Sharing page does not re-date it
        page.reindexObjectSecurity()
        transaction.commit()
        return page

    def local_roles(self, page):
        self.on_portal()
        return dict(self.find(self.portal, page.UID()).get_local_roles()).get("editor", ())

    def test_sharing_changed_on_a_peer_with_the_addon_arrives(self):
        """@sync-list serves a digest of what re-dates nothing: the change shows in the listing."""
        page = self.share_page_on_peer()
        job = self.run_step("update")
        self.assertEqual(list(job.errors), [])
        self.assertIn("Reviewer", self.local_roles(page))

    def test_manual_since_brings_changes_a_stock_peer_does_not_list(self):
        self.make_source_stock()
        self.run_step("update")  # the stock peer's JSON differs from the add-on's: written once
        page = self.share_page_on_peer()
        self.run_step("update")
        self.assertNotIn("Reviewer", self.local_roles(page))
        job = self.run_step("update", since="2000-01-01T00:00:00+00:00")
        self.assertEqual(list(job.errors), [])
        self.assertIn("Reviewer", self.local_roles(page))

    def test_update_brings_edits_moves_renames_state_and_deletions(self):
        source = self.on_source()
        by_type = {}
        for obj in self.originals:
            by_type.setdefault(obj.portal_type, []).append(obj)
        edited = by_type["Document"][0]
        edited.title = "Edited on the peer"
        edited.reindexObject()
        published = [o for o in by_type["News Item"] if api.content.get_state(o) == "private"][0]
        with api.env.adopt_roles(["Manager"]):
            api.content.transition(published, "publish")
            moved = api.content.move(source=by_type["Event"][0], target=source["folder-0"]["folder-1"])
            renamed = api.content.rename(obj=by_type["File"][0], new_id="renamed-file")
            deleted_uid = by_type["News Item"][-1].UID()
            api.content.delete(obj=by_type["News Item"][-1])
        transaction.commit()

        job = self.run_step("update")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(job.counts.get("deleted"), 1, dict(job.counts))
        self.assertFalse(job.counts.get("conflicts"), dict(job.counts))
        # the 4 changed objects, plus the peer's containers whose modification date the move bumped
        changed = job.counts.get("moved", 0) + job.counts.get("updated", 0)
        folders = len([o for o in self.originals if o.portal_type == "Folder"])
        self.assertTrue(4 <= changed <= 4 + folders, dict(job.counts))
        self.on_portal()
        transaction.begin()
        self.assertEqual(api.content.get(UID=edited.UID()).title, "Edited on the peer")
        self.assertEqual(api.content.get_state(api.content.get(UID=published.UID())), "published")
        self.assertEqual(relative(self.portal, api.content.get(UID=moved.UID())), "folder-0/folder-1/" + moved.getId())
        self.assertEqual(api.content.get(UID=renamed.UID()).getId(), "renamed-file")
        self.assertIsNone(api.content.get(UID=deleted_uid))
        # a third run finds nothing to do
        again = self.run_step("update")
        self.assertEqual(sum(again.counts.get(k, 0) for k in ("created", "updated", "moved", "deleted")), 0)
        # The sync's own moves and deletions did not make the folders look edited here:
        # a later change of them on the peer is an update, not a conflict.
        source = self.on_source()
        for folder in (source["folder-0"], source["folder-0"]["folder-1"]):
            folder.title = "Renamed on the peer"
            folder.setModificationDate(folder.modified() + 1)
            folder.reindexObject()
        transaction.commit()
        later = self.run_step("update")
        conflicts = [c.path for c in RemoteStorage(self.portal).get("src").state.conflicts.values()]
        self.assertEqual((later.counts.get("updated"), later.counts.get("conflicts")), (2, None), conflicts)


class TestAnotherRemotesCopy(SyncTestCase):
    def test_a_newer_version_does_not_take_over_a_copy_another_remote_synced(self):
        self.on_source()
        with api.env.adopt_roles(["Manager"]):
            page = api.content.create(self.source, "Document", id="seite", title="Erste Fassung")
        transaction.commit()
        self.make_remote("first")
        self.run_step("fetch", "first")
        self.assertEqual(self.run_step("import", "first").counts.get("created"), 1)
        self.on_source()
        page.title = "Zweite Fassung"
        page.reindexObject()
        transaction.commit()
        self.make_remote("second")
        self.run_step("fetch", "second")
        job = self.run_step("import", "second")
        self.assertEqual(job.counts.get("conflicts"), 1, dict(job.counts))
        conflict = RemoteStorage(self.portal).get("second").state.conflicts[page.UID()]
        self.assertEqual(conflict.reason, "here already: a copy synced from the remote 'first'")
        self.assertEqual(self.find(self.portal, page.UID()).title, "Erste Fassung")
