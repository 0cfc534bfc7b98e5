"""End to end in a real browser: headless Chromium against the WSGI-served test sites."""

import unittest

import transaction
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD

from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.testing import SOURCE_SITE_ID

from .browser_helpers import SYNC_BROWSER_TESTING
from .browser_helpers import logged_in_page
from .browser_helpers import require_browser
from .browser_helpers import site_url


SCREENSHOT = "/tmp/sync-page.png"


class TestSyncPageInBrowser(unittest.TestCase):
    # SYNC_FUNCTIONAL_TESTING (both sites over real HTTP) plus a shared headless Chromium.
    layer = SYNC_BROWSER_TESTING

    def setUp(self):
        self.browser = require_browser(self.layer)
        self.portal = self.layer["portal"]
        self.sync_url = site_url(self.layer, "plone") + "/@@sync"
        self.source_url = site_url(self.layer, SOURCE_SITE_ID)
        # Anything set up in-process must be committed before the server thread can see it.
        transaction.commit()

    def test_add_remote_through_the_form(self):
        with logged_in_page(self.browser, SITE_OWNER_NAME, SITE_OWNER_PASSWORD) as page:
            page.goto(self.sync_url)
            self.assertEqual(page.locator("h1.documentFirstHeading").inner_text(), "Sync")
            self.assertTrue(page.locator("#no-remotes").is_visible())
            self.assertEqual(page.locator("#remotes").count(), 0)

            page.click("#add-remote")
            page.wait_for_url("**/@@sync-add-remote")
            page.fill("#form-widgets-name", "lab1")
            page.fill("#form-widgets-url", self.source_url)
            page.fill("#form-widgets-username", "syncer")
            page.fill("#form-widgets-password", "s3cret pässword")
            page.click("#fieldsetlegend-content-types")  # folded until opened
            for typed in ("Page", "Folder"):  # Plone's filterable select: type, then Enter
                page.locator("#s2id_form-widgets-full_sync_types input.select2-input").click()
                page.keyboard.type(typed)
                page.locator(".select2-drop-active .select2-result-label").first.wait_for()
                page.keyboard.press("Enter")
            page.click("#form-buttons-save")

            page.wait_for_url(self.sync_url)
            row = page.locator("#remote-lab1")
            self.assertEqual(row.locator(".remote-name").inner_text(), "lab1")
            link = row.locator(f'a[href="{self.source_url}"]')
            self.assertEqual(link.inner_text(), self.source_url)
            self.assertIn("Full Sync Content Types: Page, Folder", row.inner_text())
            self.assertIn("Remote 'lab1' saved.", page.locator("#global_statusmessage").inner_text())
            self.assertEqual(page.locator("#no-remotes").count(), 0)
            with open(SCREENSHOT, "wb") as stream:  # path= would leave a Playwright thread behind
                stream.write(page.screenshot(full_page=True))
            self.assertEqual(page.js_errors, [])

        transaction.begin()  # see what the server thread committed
        remote = RemoteStorage(self.portal).get("lab1")
        self.assertIsNotNone(remote)
        self.assertEqual(remote.url, self.source_url)
        self.assertEqual(remote.username, "syncer")
        self.assertEqual(remote.password(), "s3cret pässword")
        self.assertEqual(remote.full_sync_types, ["Document", "Folder"])
