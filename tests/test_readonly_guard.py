"""Read-only copies stay read-only: transitions, deleting their folder, moves, the ZMI Security tab."""

import requests
import transaction
from AccessControl import Unauthorized
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD

from senaite_style_sync.interfaces import IReadOnlyCopy
from senaite_style_sync.sync.readonly import is_locked
from senaite_style_sync.testing import wait_for_job_threads
from tests.browser_helpers import testbrowser
from tests.sync_helpers import SyncTestCase
from tests.test_crash_recovery import wait_until


OWNER = (SITE_OWNER_NAME, SITE_OWNER_PASSWORD)
JSON = {"Accept": "application/json"}


class ReadOnlyTestCase(SyncTestCase):
    def setUp(self):
        super().setUp()
        self.plone_url = f"http://{self.layer['host']}:{self.layer['port']}/plone"
        source = self.on_source()
        with api.env.adopt_roles(["Manager"]):
            lab = api.content.create(source, "Folder", id="lab", title="Lab")
            self.page_uid = api.content.create(lab, "Document", id="sop", title="SOP").UID()
            api.content.create(source, "Folder", id="archive", title="Archive")
        transaction.commit()
        self.make_remote(readonly_types=["Document"])
        self.run_step("fetch")
        self.run_step("import")

    def tearDown(self):
        self.assertEqual(wait_for_job_threads(), [])

    def copy(self):
        transaction.begin()
        return self.find(self.portal, self.page_uid)

    def call(self, method, path, **kwargs):
        response = requests.request(method, f"{self.plone_url}/{path}", auth=OWNER, headers=JSON, timeout=30, **kwargs)
        transaction.begin()
        return response

    def may_edit(self):
        manager = api.user.get(username=SITE_OWNER_NAME)
        return api.user.has_permission("Modify portal content", user=manager, obj=self.copy())


class TestLockHolds(ReadOnlyTestCase):
    def test_a_transition_leaves_it_locked(self):
        self.assertEqual(self.call("POST", "lab/sop/@workflow/publish").status_code, 200)
        self.assertEqual(api.content.get_state(self.copy()), "published")
        self.assertFalse(self.may_edit())
        self.assertEqual(self.call("PATCH", "lab/sop", json={"title": "hacked"}).status_code, 401)
        self.assertEqual(self.copy().title, "SOP")

    def test_deleting_or_moving_it_or_its_folder_is_refused(self):
        for method, path, body in (
            ("DELETE", "lab", None),
            ("POST", "@move", {"source": f"{self.plone_url}/lab/sop"}),
            ("POST", "@move", {"source": f"{self.plone_url}/lab"}),
            ("POST", "lab/@move", {"source": f"{self.plone_url}/lab/sop"}),  # its own folder: a no-op move
        ):
            with self.subTest(method=method, path=path, body=body):
                response = self.call(method, path, json=body)
                self.assertIn(response.status_code, (200, 401), response.text)
                self.assertEqual("/".join(self.copy().getPhysicalPath()), "/plone/lab/sop")
        with api.env.adopt_user(username=SITE_OWNER_NAME), self.assertRaises(Unauthorized):
            self.portal.manage_renameObject("lab", "elsewhere")
        transaction.abort()
        self.assertIsNotNone(self.copy())

    def test_the_zmi_security_tab_cannot_unlock_it(self):
        browser = testbrowser(self.layer["app"], *OWNER)
        for roles, acquire in ((["Manager", "Editor"], True), (["Editor"], False)):
            with self.subTest(roles=roles, acquire=acquire):
                browser.open(
                    f"{self.copy().absolute_url()}/manage_permissionForm?permission_to_manage=Modify+portal+content"
                )
                browser.getControl(name="roles:list").value = roles
                browser.getControl(name="acquire").value = acquire
                browser.getControl("Save Changes").click()
                self.assertTrue(is_locked(self.copy()))
                self.assertFalse(self.may_edit())

    def test_update_security_settings_cannot_unlock_it(self):
        browser = testbrowser(self.layer["app"], *OWNER)
        browser.open(f"{self.portal.absolute_url()}/portal_workflow/manage_selectWorkflows")
        browser.getControl("Update security settings").click()
        self.assertTrue(is_locked(self.copy()))

    def test_a_copy_of_it_is_ordinary_content(self):
        with api.env.adopt_user(username=SITE_OWNER_NAME):
            pasted = api.content.copy(self.copy(), self.portal["archive"])
        transaction.commit()
        self.assertFalse(IReadOnlyCopy.providedBy(pasted))
        manager = api.user.get(username=SITE_OWNER_NAME)
        self.assertTrue(api.user.has_permission("Modify portal content", user=manager, obj=pasted))
        self.assertTrue(IReadOnlyCopy.providedBy(self.copy()))

    def test_deleting_the_whole_site_is_not_refused(self):
        self.layer["app"].manage_delObjects(["plone"])
        transaction.abort()


class TestTheSyncStillMovesAndDeletes(ReadOnlyTestCase):
    def test_a_job_moves_then_deletes_it_as_the_peer_did(self):
        source = self.on_source()
        with api.env.adopt_roles(["Manager"]):
            api.content.move(source["lab"]["sop"], source["archive"])
        transaction.commit()
        job = self.job_by_rest("update")
        self.assertEqual(job["errors"], [], job)
        self.assertEqual("/".join(self.copy().getPhysicalPath()), "/plone/archive/sop")
        self.assertTrue(is_locked(self.copy()))

        source = self.on_source()
        with api.env.adopt_roles(["Manager"]):
            api.content.delete(source["archive"]["sop"])
        transaction.commit()
        self.assertEqual(self.call("PATCH", "@sync-remotes/src", json={"max_delete_percent": 0}).status_code, 204)
        job = self.job_by_rest("update")
        self.assertEqual((job["counts"].get("deleted"), job["errors"]), (1, []), job)
        self.assertIsNone(self.copy())

    def job_by_rest(self, step):
        started = self.call("POST", f"@sync-remotes/src/@{step}")
        self.assertEqual(started.status_code, 202, started.text)
        return wait_until(
            lambda: (job := self.call("GET", f"@sync-jobs/{started.json()['id']}").json())["state"] == "done" and job
        )
