"""Type rules, prefixes, read-only copies, update-only round trips and conflicts."""

import requests
import transaction
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from zExceptions import Unauthorized

from senaite_style_sync.actions.remotes import edit_remote
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.sync.conflicts import keep_local
from senaite_style_sync.sync.writer import Applier
from tests.sync_helpers import SyncTestCase


class TestTypeRules(SyncTestCase):
    def build(self):
        source = self.on_source()
        with api.env.adopt_roles(["Manager"]):
            folder = api.content.create(source, "Folder", id="lab", title="Lab")
            sub = api.content.create(folder, "Folder", id="reports", title="Reports")
            page = api.content.create(sub, "Document", id="report", title="Report")
            news = api.content.create(folder, "News Item", id="news", title="News")
            event = api.content.create(source, "Event", id="meeting", title="Meeting")
        transaction.commit()
        return folder, sub, page, news, event

    def test_full_sync_types_take_parents_along(self):
        folder, sub, page, news, event = self.build()
        self.make_remote(full_sync_types=["Document"])
        self.run_step("fetch")
        job = self.run_step("import")
        self.assertEqual(job.counts.get("created"), 3)  # the page and its two folders
        self.on_portal()
        self.assertIsNotNone(api.content.get(UID=page.UID()))
        self.assertIsNotNone(api.content.get(UID=folder.UID()))
        self.assertIsNone(api.content.get(UID=news.UID()))
        self.assertIsNone(api.content.get(UID=event.UID()))

    def test_skipped_types_are_still_parents(self):
        folder, sub, page, news, event = self.build()
        self.make_remote(skipped_types=["Folder", "Event"])
        self.run_step("fetch")
        self.run_step("import")
        self.on_portal()
        self.assertIsNotNone(api.content.get(UID=page.UID()))
        self.assertIsNotNone(api.content.get(UID=sub.UID()))  # needed as the page's parent
        self.assertIsNone(api.content.get(UID=event.UID()))

    def test_prefixable_types_get_the_remote_prefix(self):
        folder, sub, page, news, event = self.build()
        self.make_remote(remote_prefix="lab1", prefixable_types=["Folder", "Event"])
        self.run_step("fetch")
        job = self.run_step("import")
        self.assertEqual(list(job.errors), [])
        self.on_portal()
        self.assertEqual(api.content.get(UID=page.UID()).absolute_url_path(), "/plone/lab1-lab/lab1-reports/report")
        self.assertEqual(api.content.get(UID=event.UID()).getId(), "lab1-meeting")
        self.assertEqual(api.content.get(UID=news.UID()).absolute_url_path(), "/plone/lab1-lab/news")


class TestReadOnly(SyncTestCase):
    def import_read_only_page(self):
        """A page on the peer, imported with Documents read-only; returns the peer's page."""
        source = self.on_source()
        with api.env.adopt_roles(["Manager"]):
            page = api.content.create(source, "Document", id="sop", title="SOP v1")
        transaction.commit()
        self.make_remote(readonly_types=["Document"])
        self.run_step("fetch")
        self.run_step("import")
        return page

    def test_nobody_edits_or_deletes_a_read_only_copy_but_the_sync_updates_it(self):
        page = self.import_read_only_page()
        self.on_portal()
        copy = api.content.get(UID=page.UID())
        manager = api.user.get(username=SITE_OWNER_NAME)
        self.assertFalse(api.user.has_permission("Modify portal content", user=manager, obj=copy))
        self.assertFalse(api.user.has_permission("Delete objects", user=manager, obj=copy))
        base = f"http://{self.layer['host']}:{self.layer['port']}/plone/sop"
        auth = (SITE_OWNER_NAME, SITE_OWNER_PASSWORD)
        headers = {"Accept": "application/json"}
        patched = requests.patch(base, json={"title": "hacked"}, auth=auth, headers=headers, timeout=30)
        self.assertEqual(patched.status_code, 401)
        deleted = requests.delete(base, auth=auth, headers=headers, timeout=30)
        self.assertEqual(deleted.status_code, 401)
        with api.env.adopt_user(username=SITE_OWNER_NAME):
            with self.assertRaises(Unauthorized):
                api.content.delete(obj=copy)
        transaction.abort()
        self.on_source()
        page.title = "SOP v2"
        page.reindexObject()
        transaction.commit()
        job = self.run_step("update")
        self.assertEqual(job.counts.get("updated"), 1, dict(job.counts))
        self.on_portal()
        copy = api.content.get(UID=page.UID())
        self.assertEqual(copy.title, "SOP v2")
        self.assertFalse(api.user.has_permission("Modify portal content", user=manager, obj=copy))
        # Deleting the remote turns its read-only copies into ordinary content again.
        answer = requests.delete(
            f"http://{self.layer['host']}:{self.layer['port']}/plone/@sync-remotes/src",
            auth=auth,
            headers=headers,
            timeout=30,
        )
        self.assertEqual(answer.status_code, 204)
        transaction.begin()
        copy = self.find(self.portal, page.UID())
        self.assertEqual(copy.title, "SOP v2")
        self.assertTrue(api.user.has_permission("Modify portal content", user=manager, obj=copy))
        self.assertTrue(api.user.has_permission("Delete objects", user=manager, obj=copy))

    def test_a_type_no_longer_read_only_is_unlocked_when_next_written(self):
        page = self.import_read_only_page()
        edit_remote(RemoteStorage(self.portal).get("src"), {"readonly_types": []})
        self.on_source()
        page.title = "SOP v2"
        page.setModificationDate(page.modified() + 1)
        page.reindexObject()
        transaction.commit()
        self.run_step("update")
        self.on_portal()
        copy = self.find(self.portal, page.UID())
        manager = api.user.get(username=SITE_OWNER_NAME)
        self.assertEqual(copy.title, "SOP v2")
        self.assertTrue(api.user.has_permission("Modify portal content", user=manager, obj=copy))


class TestConflicts(SyncTestCase):
    def setUp(self):
        super().setUp()
        source = self.on_source()
        with api.env.adopt_roles(["Manager"]):
            self.page = api.content.create(source, "Document", id="shared", title="Original")
        transaction.commit()
        self.make_remote()
        self.run_step("fetch")
        self.run_step("import")

    def edit_both(self):
        self.on_source()
        self.page.title = "Peer edit"
        self.page.setModificationDate(self.page.modified() + 1)
        self.page.reindexObject()
        transaction.commit()
        self.on_portal()
        copy = api.content.get(UID=self.page.UID())
        copy.title = "Local edit"
        copy.setModificationDate(copy.modified() + 2)
        copy.reindexObject()
        transaction.commit()

    def local_title(self):
        self.on_portal()
        transaction.begin()
        return api.content.get(UID=self.page.UID()).title

    def test_conflict_recorded_with_both_versions_and_not_overwritten(self):
        self.edit_both()
        job = self.run_step("update")
        self.assertEqual(job.counts.get("conflicts"), 1, dict(job.counts))
        self.assertEqual(self.local_title(), "Local edit")
        conflict = RemoteStorage(self.portal).get("src").state.conflicts[self.page.UID()]
        self.assertIn('"title": "Peer edit"', conflict.remote_version)
        self.assertIn('"title": "Local edit"', conflict.local_version)
        # a rerun keeps the conflict and still does not overwrite
        self.run_step("update")
        self.assertEqual(self.local_title(), "Local edit")
        self.assertIn(self.page.UID(), RemoteStorage(self.portal).get("src").state.conflicts)

    def test_policy_remote_wins(self):
        edit_remote(RemoteStorage(self.portal).get("src"), {"conflict_policy": "remote"})
        transaction.commit()
        self.edit_both()
        job = self.run_step("update")
        self.assertEqual(job.counts.get("updated"), 1, dict(job.counts))
        self.assertEqual(self.local_title(), "Peer edit")

    def test_policy_local_wins(self):
        edit_remote(RemoteStorage(self.portal).get("src"), {"conflict_policy": "local"})
        transaction.commit()
        self.edit_both()
        job = self.run_step("update")
        self.assertFalse(job.counts.get("updated"), dict(job.counts))
        self.assertFalse(job.counts.get("conflicts"), dict(job.counts))
        self.assertEqual(self.local_title(), "Local edit")

    def test_resolve_take_remote_then_keep_local(self):
        self.edit_both()
        self.run_step("update")
        remote = RemoteStorage(self.portal).get("src")
        remote.state.resolutions[self.page.UID()] = "remote"
        transaction.commit()
        self.run_step("import")
        self.assertEqual(self.local_title(), "Peer edit")
        self.assertNotIn(self.page.UID(), RemoteStorage(self.portal).get("src").state.conflicts)

        self.edit_both()
        self.run_step("update")
        remote = RemoteStorage(self.portal).get("src")
        keep_local(Applier(self.portal, remote, self.portal.REQUEST, self.source_url), self.page.UID())
        transaction.commit()
        job = self.run_step("update")
        self.assertFalse(job.counts.get("conflicts"), dict(job.counts))
        self.assertEqual(self.local_title(), "Local edit")
