"""The Sync page and the Remote forms, through a test browser: add, edit, delete, validation, CSRF, access."""

import unittest
from urllib.parse import urlencode

import transaction
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD

from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.model import validation
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.testing import EDITOR_NAME
from senaite_style_sync.testing import EDITOR_PASSWORD
from senaite_style_sync.testing import SOURCE_SITE_ID
from senaite_style_sync.testing import SYNC_FUNCTIONAL_TESTING
from tests.browser_helpers import InProcessBrowser


PASSWORD = "Form-Secret-2718"


class FormTestCase(InProcessBrowser, unittest.TestCase):
    layer = SYNC_FUNCTIONAL_TESTING

    def stored(self, name):
        transaction.begin()
        return RemoteStorage(self.portal).get(name)

    def fill(self, **values):
        for name, value in values.items():
            # The type rules are Plone's filterable selects (pat-select2), named without ":list".
            control = self.browser.getControl(name=f"form.widgets.{name}")
            control.value = value

    def add_remote(self, name="lab1"):
        create_remote(
            self.portal,
            {"name": name, "url": "https://lab1.example.org/Plone", "username": "sync", "password": PASSWORD},
        )
        transaction.commit()


class TestAddEditDelete(FormTestCase):
    def test_add_through_form(self):
        self.browser.open(f"{self.portal_url}/@@sync")
        self.assertIn("No remotes yet", self.browser.contents)
        self.browser.getLink("Add New Remote").click()
        self.fill(
            name="lab1",
            url="https://lab1.example.org/Plone",
            username="sync",
            password=PASSWORD,
            remote_prefix="lab1",
            prefixable_types=["Document", "News Item"],
        )
        self.browser.getControl(name="form.widgets.auto_sync:list").value = ["selected"]
        self.browser.getControl(name="form.buttons.save").click()
        self.assertEqual(self.browser.url, f"{self.portal_url}/@@sync")
        self.assertIn("Remote 'lab1' saved.", self.browser.contents)
        self.assertIn('id="remote-lab1"', self.browser.contents)
        self.assertIn("Prefixable Content Types: Page, News Item", self.browser.contents)
        self.assertIn("every 60 min", self.browser.contents)
        self.assertNotIn(PASSWORD, self.browser.contents)
        remote = self.stored("lab1")
        self.assertEqual(remote.password(), PASSWORD)
        self.assertEqual(remote.prefixable_types, ["Document", "News Item"])
        self.assertTrue(remote.auto_sync)

    def test_save_and_fetch(self):
        self.browser.open(f"{self.portal_url}/@@sync-add-remote")
        self.fill(name="lab1", url="https://lab1.example.org/Plone")
        self.browser.getControl(name="form.buttons.save_fetch").click()
        remote = self.stored("lab1")
        self.assertIsNotNone(remote)
        self.assertIn("Fetch started for 'lab1'.", self.browser.contents)
        self.assertEqual(self.browser.url, f"{self.portal_url}/@@sync")
        job = JobStore(self.portal).get(remote.active_job)
        self.assertEqual((job.remote, job.step, job.trigger), ("lab1", "fetch", "button"))
        self.assertIn(f'data-job-id="{job.id}"', self.browser.contents)

    def test_validation_errors_shown_and_nothing_saved(self):
        self.add_remote("lab1")
        self.browser.open(f"{self.portal_url}/@@sync-add-remote")
        self.fill(
            name="lab1",
            url="ftp://lab2.example.org",
            password=PASSWORD,
            prefixable_types=["Document"],
            update_only_types=["Event"],
            certificate_path="/no/such/file.pem",
        )
        self.browser.getControl(name="form.buttons.save").click()
        contents = self.text()
        for message in (
            validation.DUPLICATE_NAME,
            validation.BAD_URL,
            validation.TYPES_WITHOUT_PREFIX,
            validation.UPDATE_ONLY_WITHOUT_LOCAL_PREFIX,
            validation.UNREADABLE_CERTIFICATE,
        ):
            self.assertIn(message, contents)
        self.assertNotIn(PASSWORD, contents)
        self.assertEqual(self.stored("lab1").url, "https://lab1.example.org/Plone")
        self.assertEqual(len(list(RemoteStorage(self.portal))), 1)

    def test_prefix_without_types_error(self):
        self.browser.open(f"{self.portal_url}/@@sync-add-remote")
        self.fill(name="lab2", url="https://lab2.example.org", remote_prefix="lab2")
        self.browser.getControl(name="form.buttons.save").click()
        self.assertIn(validation.PREFIX_WITHOUT_TYPES, self.text())
        self.assertIsNone(self.stored("lab2"))

    def test_edit_keeps_password_and_never_shows_it(self):
        self.add_remote("lab1")
        self.browser.open(f"{self.portal_url}/@@sync")
        self.browser.getLink(url="@@sync-edit-remote").click()
        self.assertEqual(self.browser.getControl(name="form.widgets.password").value, "")
        self.assertNotIn(PASSWORD, self.browser.contents)
        self.fill(url="https://lab1.example.org/Other", local_prefix="here", update_only_types=["Document"])
        self.browser.getControl(name="form.buttons.save").click()
        remote = self.stored("lab1")
        self.assertEqual(remote.url, "https://lab1.example.org/Other")
        self.assertEqual(remote.update_only_types, ["Document"])
        self.assertEqual(remote.password(), PASSWORD)

    def test_delete_with_confirmation(self):
        self.add_remote("lab1")
        self.browser.open(f"{self.portal_url}/@@sync")
        self.browser.getLink(url="@@sync-delete-remote").click()
        self.assertIn("Delete remote lab1?", self.browser.contents)
        self.assertIsNotNone(self.stored("lab1"))  # showing the confirmation deletes nothing
        self.browser.getControl(name="form.buttons.cancel").click()
        self.assertIsNotNone(self.stored("lab1"))
        self.browser.getLink(url="@@sync-delete-remote").click()
        self.browser.getControl(name="form.buttons.delete").click()
        self.assertIn("Remote 'lab1' deleted.", self.browser.contents)
        self.assertIsNone(self.stored("lab1"))

    def test_step_buttons_start_jobs(self):
        # One remote per step: a job of a remote refuses a second start while it is active.
        steps = (("lab1", "fetch", "Fetch"), ("lab2", "import", "Import"), ("lab3", "update", "Get Updates"))
        for name, _step, _label in steps:
            self.add_remote(name)
        for row, (name, step, label) in enumerate(steps):
            with self.subTest(step=label):
                self.browser.open(f"{self.portal_url}/@@sync")
                self.browser.getControl(label, index=row).click()
                self.assertEqual(self.browser.url, f"{self.portal_url}/@@sync")
                self.assertIn(f"{label} started for '{name}'.", self.browser.contents)
                remote = self.stored(name)
                job = JobStore(self.portal).get(remote.active_job)
                self.assertEqual((job.remote, job.step, job.trigger, job.since), (name, step, "button", ""))

    def test_test_connection_button(self):
        source = f"http://{self.layer['host']}:{self.layer['port']}/{SOURCE_SITE_ID}"
        self.browser.open(f"{self.portal_url}/@@sync-add-remote")
        self.fill(name="lab1", url=source, username=SITE_OWNER_NAME, password="wrong")
        self.browser.getControl(name="form.buttons.test_connection").click()
        self.assertRegex(
            self.browser.contents,
            r'<output id="test-connection-result"[^>]*data-code="credentials"[^>]*>'
            r"The peer refused the username or password.</output>",
        )
        # Without the form's script the page comes back, the typed password still typed.
        self.assertEqual(self.browser.getControl(name="form.widgets.password").value, "wrong")
        self.fill(password=SITE_OWNER_PASSWORD)
        self.browser.getControl(name="form.buttons.test_connection").click()
        self.assertIn(f"logged in as {SITE_OWNER_NAME}", self.browser.contents)
        self.assertIsNone(self.stored("lab1"))  # testing saves nothing


class TestProtection(FormTestCase):
    def post(self, browser, view, data):
        browser.open(f"{self.portal_url}/{view}", urlencode(data, doseq=True))

    def test_post_without_csrf_token_changes_nothing(self):
        self.add_remote("lab1")
        attempts = [
            (
                "@@sync-add-remote",
                {"form.widgets.name": "lab2", "form.widgets.url": "https://x.example.org", "form.buttons.save": "Save"},
            ),
            (
                "@@sync-edit-remote?remote=lab1",
                {"form.widgets.url": "https://evil.example.org", "form.buttons.save": "Save"},
            ),
            ("@@sync-delete-remote", {"remote": "lab1", "form.buttons.delete": "Delete"}),
            ("@@sync-run-step", {"remote": "lab1", "step": "fetch"}),
        ]
        self.browser.handleErrors = True
        for view, data in attempts:
            with self.subTest(view=view):
                self.post(self.browser, view, data)
                self.assertEqual(self.browser.headers["status"], "403 Forbidden")
        self.assertIsNone(self.stored("lab2"))
        self.assertEqual(self.stored("lab1").url, "https://lab1.example.org/Plone")

    def test_anonymous_and_editor_refused(self):
        self.add_remote("lab1")
        for user, password in ((None, None), (EDITOR_NAME, EDITOR_PASSWORD)):
            browser = self.browser_as(user, password)
            browser.handleErrors = True
            for view in (
                "@@sync",
                "@@sync-add-remote",
                "@@sync-edit-remote?remote=lab1",
                "@@sync-delete-remote?remote=lab1",
            ):
                with self.subTest(user=user, view=view):
                    browser.open(f"{self.portal_url}/{view}")
                    # Plone answers Unauthorized with its login form (anonymous) or "Insufficient Privileges".
                    expected = "/login?came_from=" if user is None else "/insufficient-privileges"
                    self.assertIn(expected, browser.url)
                    self.assertNotIn("lab1.example.org", browser.contents)
        self.assertIsNotNone(self.stored("lab1"))
