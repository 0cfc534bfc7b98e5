"""The Remote forms as a Site Administrator and as a Manager; where Test connection sends a password."""

from urllib.parse import urlencode

import transaction
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD

from senaite_style_sync.actions.remotes import MANAGER_ONLY_EDIT
from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.model import validation
from senaite_style_sync.testing import SITE_ADMIN_NAME
from senaite_style_sync.testing import SITE_ADMIN_PASSWORD
from senaite_style_sync.testing import SOURCE_SITE_ID
from tests.hostile_peer import HostilePeer
from tests.test_forms import FormTestCase


MANAGER_FIELD = "form.widgets.allow_manager_role:list"


class TestManagerField(FormTestCase):
    def test_a_site_administrator_cannot_tick_it(self):
        browser = self.browser_as(SITE_ADMIN_NAME, SITE_ADMIN_PASSWORD)
        browser.open(f"{self.portal_url}/@@sync-add-remote")
        self.assertNotIn(f'name="{MANAGER_FIELD}"', browser.contents)  # shown, not editable
        self.assertIn("Allow the Manager role", browser.contents)
        token = browser.getControl(name="_authenticator").value
        # A hand-made POST with the box ticked saves the remote without it.
        data = {
            "form.widgets.name": "lab1",
            "form.widgets.url": "https://lab1.example.org/Plone",
            "form.widgets.import_users:list": "selected",
            "form.widgets.conflict_policy:list": "skip",
            "form.widgets.max_delete_percent": "10",
            "form.widgets.auto_sync_interval": "60",
            MANAGER_FIELD: "selected",
            "form.buttons.save": "Save",
            "_authenticator": token,
        }
        browser.open(f"{self.portal_url}/@@sync-add-remote", urlencode(data))
        remote = self.stored("lab1")
        self.assertTrue(remote.import_users)
        self.assertFalse(remote.allow_manager_role)

        self.browser.open(f"{self.portal_url}/@@sync-edit-remote?remote=lab1")
        self.browser.getControl(name=MANAGER_FIELD).value = ["selected"]  # a Manager may
        self.browser.getControl(name="form.buttons.save").click()
        self.assertTrue(self.stored("lab1").allow_manager_role)

        browser.open(f"{self.portal_url}/@@sync-edit-remote?remote=lab1")
        self.assertIn(MANAGER_ONLY_EDIT, browser.contents)
        browser.getControl(name="form.widgets.url").value = "https://mine.example.org/Plone"
        browser.getControl(name="form.buttons.save").click()
        self.assertIn(MANAGER_ONLY_EDIT, browser.contents)
        self.assertEqual(self.stored("lab1").url, "https://lab1.example.org/Plone")


class TestTestConnection(FormTestCase):
    def setUp(self):
        super().setUp()
        self.source_url = f"http://{self.layer['host']}:{self.layer['port']}/{SOURCE_SITE_ID}"
        create_remote(
            self.portal,
            {"name": "lab1", "url": self.source_url, "username": SITE_OWNER_NAME, "password": SITE_OWNER_PASSWORD},
        )
        transaction.commit()

    def test_the_stored_password_goes_only_to_the_stored_origin(self):
        with HostilePeer() as elsewhere:
            self.browser.open(f"{self.portal_url}/@@sync-edit-remote?remote=lab1")
            self.fill(url=elsewhere.url)
            self.browser.getControl(name="form.buttons.test_connection").click()
            self.assertIn(validation.PASSWORD_AGAIN, self.text())
            self.assertEqual(elsewhere.requests, [])  # nothing was sent there
            self.fill(password="typed-here")
            self.browser.getControl(name="form.buttons.test_connection").click()
            self.assertEqual({r.authorization for r in elsewhere.requests}, {True})  # the typed one
            self.assertIn(validation.CLEARTEXT, self.text())

        self.fill(url=f"{self.source_url}/", password="")  # the stored origin: the stored password
        self.browser.getControl(name="form.buttons.test_connection").click()
        self.assertIn(f"logged in as {SITE_OWNER_NAME}", self.text())
        self.assertEqual(self.stored("lab1").password(), SITE_OWNER_PASSWORD)

    def test_saving_an_http_url_warns(self):
        self.browser.open(f"{self.portal_url}/@@sync-edit-remote?remote=lab1")
        self.browser.getControl(name="form.buttons.save").click()
        self.assertIn("Remote 'lab1' saved.", self.text())
        self.assertIn(validation.CLEARTEXT, self.text())
