"""The screens in headless Chromium: the form by keyboard, folded fieldsets, filterable types, Test connection
in place, the Sync page through Fetch, Import and Verify, history and conflicts, a bundle exported, downloaded
and imported; no console errors anywhere.

The screenshots in docs/images/ are taken here, so the documentation shows the screens as they are.
"""

import shutil
import tempfile
import time
from pathlib import Path

import transaction
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD

from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.model.validation import CLEARTEXT
from senaite_style_sync.testing import wait_for_job_threads
from tests.browser_helpers import SYNC_BROWSER_TESTING
from tests.browser_helpers import logged_in_page
from tests.browser_helpers import require_browser
from tests.browser_helpers import site_url
from tests.corpus import build_corpus
from tests.sync_helpers import SyncTestCase
from tests.test_sync_ui import find
from tests.test_sync_ui import retitle


IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
JOB_TIMEOUT_MS = 60_000
BUNDLE_KEY = "the labs shared bundle key"
FOLDED = ("import-options", "prefixes", "content-types", "auto-sync", "bundles")


class BrowserUITestCase(SyncTestCase):
    layer = SYNC_BROWSER_TESTING

    def setUp(self):
        super().setUp()
        self.browser = require_browser(self.layer)
        self.plone_url = site_url(self.layer, "plone")
        transaction.commit()

    def tearDown(self):
        self.assertEqual(wait_for_job_threads(), [])

    def page(self):
        return logged_in_page(self.browser, SITE_OWNER_NAME, SITE_OWNER_PASSWORD)

    def assert_clean(self, page):
        """No JavaScript error and no error in the console on the pages seen."""
        self.assertEqual(page.js_errors + page.console_errors, [])

    def screenshot(self, page, name, selector="#content"):
        """docs/images/<name>.png: the page's content, as the documentation shows it."""
        IMAGES.mkdir(exist_ok=True)
        # Bytes, not path=: path= would leave a Playwright thread behind.
        (IMAGES / f"{name}.png").write_bytes(page.locator(selector).screenshot())

    def active_id(self, page):
        return page.evaluate("document.activeElement && document.activeElement.id")

    def tab_to(self, page, element_id, limit=40):
        """Press Tab until the element with ``element_id`` has the focus."""
        for _ in range(limit):
            if self.active_id(page) == element_id:
                return
            page.keyboard.press("Tab")
        self.fail(f"Tab never reached #{element_id}")

    def pick_type(self, page, field, typed, title):
        """Filter a type rule's select by typing, and pick the type shown as ``title``."""
        page.locator(f"#s2id_form-widgets-{field} input.select2-input").click()
        page.keyboard.type(typed)
        results = page.locator(".select2-drop-active .select2-result-label")
        results.first.wait_for()
        self.assertEqual(results.all_inner_texts(), [title])
        page.keyboard.press("Enter")

    def wait_for_job(self, page, step):
        """The page reloads itself when the job it follows ends; wait for that job's outcome."""
        page.wait_for_function(
            """step => {
                const box = document.querySelector('#job-src');
                return box && box.querySelector('.job-step').textContent === step && box.querySelector('.job-outcome');
            }""",
            arg=step,
            timeout=JOB_TIMEOUT_MS,
        )
        self.assertEqual(page.locator("#job-src").get_attribute("data-job-state"), "done")


class TestRemoteForm(BrowserUITestCase):
    def test_keyboard_only(self):
        with self.page() as page:
            page.goto(f"{self.plone_url}/@@sync-add-remote")
            self.tab_to(page, "form-widgets-name")
            page.keyboard.type("lab1")
            page.keyboard.press("Tab")
            page.keyboard.type(self.source_url)
            for expected in ("form-widgets-username", "form-widgets-password", "form-widgets-certificate_path"):
                page.keyboard.press("Tab")
                self.assertEqual(self.active_id(page), expected)
            # The folded fieldsets are next, each a closed summary; Enter opens one.
            for name in FOLDED[:3]:
                page.keyboard.press("Tab")
                self.assertEqual(self.active_id(page), f"fieldsetlegend-{name}")
            page.keyboard.press("Enter")
            self.assertIsNotNone(page.locator("#fieldset-content-types").get_attribute("open"))
            page.keyboard.press("Tab")
            self.assertIn("s2id_autogen", self.active_id(page))  # the Full Sync types' filter
            page.keyboard.type("Pag")
            page.locator(".select2-drop-active .select2-result-label").first.wait_for()
            page.keyboard.press("Enter")
            self.tab_to(page, "form-buttons-save")
            page.keyboard.press("Enter")
            page.wait_for_url(f"{self.plone_url}/@@sync")
            self.assertIn("Remote 'lab1' saved.", page.locator("#global_statusmessage").inner_text())
            for name in ("import-options", "prefixes", "auto-sync"):
                self.assertEqual(page.locator(f"#fieldset-{name}").count(), 0)
            self.assert_clean(page)
        remote = self.stored("lab1")
        self.assertEqual((remote.url, remote.full_sync_types), (self.source_url, ["Document"]))

    def test_fieldsets_folded_types_filtered_errors_unfolded(self):
        with self.page() as page:
            page.goto(f"{self.plone_url}/@@sync-add-remote")
            self.assertTrue(page.locator("#form-widgets-url").is_visible())
            for name in FOLDED:
                self.assertIsNone(page.locator(f"#fieldset-{name}").get_attribute("open"), name)
            self.assertFalse(page.locator("#form-widgets-remote_prefix").is_visible())
            page.fill("#form-widgets-name", "lab1")
            page.fill("#form-widgets-url", self.source_url)
            page.click("#fieldsetlegend-prefixes")
            page.fill("#form-widgets-remote_prefix", "lab1")
            page.click("#fieldsetlegend-content-types")
            self.pick_type(page, "full_sync_types", "pag", "Page")  # shown by title, found by typing
            self.pick_type(page, "full_sync_types", "fol", "Folder")
            self.screenshot(page, "remote-form")
            page.click("#form-buttons-save")
            # A prefix without prefixable types: the form comes back with that fieldset open.
            page.wait_for_load_state()
            self.assertIsNotNone(page.locator("#fieldset-content-types").get_attribute("open"))
            self.assertIsNone(page.locator("#fieldset-auto-sync").get_attribute("open"))
            self.assertIn(
                "A Remote's Prefix needs at least one Prefixable Content Type.",
                page.locator("#fieldset-content-types").inner_text(),
            )
            self.pick_type(page, "prefixable_types", "new", "News Item")
            page.click("#form-buttons-save")
            page.wait_for_url(f"{self.plone_url}/@@sync")
            self.assert_clean(page)
        remote = self.stored("lab1")
        self.assertEqual(remote.full_sync_types, ["Document", "Folder"])
        self.assertEqual((remote.remote_prefix, remote.prefixable_types), ("lab1", ["News Item"]))

    def test_test_connection_in_place_keeps_the_typed_password(self):
        with self.page() as page:
            page.goto(f"{self.plone_url}/@@sync-add-remote")
            page.evaluate("window.notReloaded = true")
            page.fill("#form-widgets-name", "lab1")
            page.fill("#form-widgets-url", self.source_url)
            page.fill("#form-widgets-username", SITE_OWNER_NAME)
            page.fill("#form-widgets-password", "wrong")
            result = page.locator("#test-connection-result")
            page.click("#form-buttons-test_connection")
            page.wait_for_function("document.getElementById('test-connection-result').dataset.code === 'credentials'")
            self.assertEqual(result.inner_text(), "The peer refused the username or password.")
            self.assertIn("text-danger", result.get_attribute("class"))
            page.fill("#form-widgets-password", SITE_OWNER_PASSWORD)
            page.click("#form-buttons-test_connection")
            page.wait_for_function("document.getElementById('test-connection-result').dataset.code === 'ok'")
            self.assertIn(f"logged in as {SITE_OWNER_NAME}", result.inner_text())
            self.assertTrue(page.evaluate("window.notReloaded"))  # answered in place
            self.assertEqual(page.input_value("#form-widgets-password"), SITE_OWNER_PASSWORD)
            # An http:// peer: the warning comes with the outcome, under the buttons, ...
            self.assertTrue(page.is_visible("#test-connection-warning"))
            self.assertEqual(page.inner_text("#test-connection-warning"), CLEARTEXT)
            self.assert_clean(page)
            # ... and not once more on the next page, as a status message left behind.
            page.goto(f"{self.plone_url}/@@sync")
            self.assertNotIn(CLEARTEXT, page.inner_text("body"))
        self.assertIsNone(self.stored("lab1"))  # testing saves nothing

    def test_edit_form_tests_with_the_stored_password_and_never_shows_it(self):
        password = "Stored-Secret-4711"
        create_remote(
            self.portal, {"name": "lab1", "url": self.source_url, "username": SITE_OWNER_NAME, "password": password}
        )
        transaction.commit()
        with self.page() as page:
            page.goto(f"{self.plone_url}/@@sync-edit-remote?remote=lab1")
            self.assertEqual(page.input_value("#form-widgets-password"), "")
            with page.expect_response(lambda response: response.request.method == "POST") as answer:
                page.click("#form-buttons-test_connection")
            # The stored password is not the peer's: its refusal says the stored one was used.
            self.assertEqual(answer.value.json()["code"], "credentials")
            self.assertNotIn(password, answer.value.text())
            self.assertNotIn(password, page.content())
            self.assert_clean(page)

    def stored(self, name):
        transaction.begin()
        return RemoteStorage(self.portal).get(name)


class TestSyncScreens(BrowserUITestCase):
    def test_fetch_import_verify_history_conflicts(self):
        self.on_source()
        originals = build_corpus(self.source, 12)
        page_uid = next(obj.UID() for obj in originals if obj.portal_type == "Document")
        transaction.commit()
        self.make_remote(remote_prefix="", auto_sync=True, auto_sync_interval=30)

        with self.page() as page:
            page.goto(f"{self.plone_url}/@@sync")
            self.assertEqual(page.locator("#plan-src").get_attribute("data-plan-state"), "none")
            group = page.locator("#status-src .step-buttons button")
            self.assertEqual(group.all_inner_texts(), ["Fetch", "Import", "Get Updates", "Verify"])
            self.assertEqual(
                page.locator("#more-actions-src a").all_inner_texts(), ["Updates since…", "History", "Bundles and push"]
            )

            page.click("#step-fetch-src")
            self.wait_for_job(page, "Fetch")
            plan = page.locator("#plan-src")
            self.assertEqual(plan.get_attribute("data-plan-state"), "pending")
            self.assertIn("Will do:", plan.inner_text())
            created = plan.locator(".plan-create .count").inner_text()

            page.click("#step-import-src")
            self.wait_for_job(page, "Import")
            self.assertEqual(plan.get_attribute("data-plan-state"), "done")
            self.assertEqual(plan.locator(".done-created .count").inner_text(), created)
            self.assertEqual(page.locator("#plan-src .plan-create").count(), 0)  # no stale "to create"
            self.assertIn("next run at", page.locator("#next-run-src").inner_text())
            self.assertEqual(page.locator("#errors-src .error-count").inner_text(), "0")
            self.screenshot(page, "sync-page")

            # Verify after a local edit: the run page lists the difference, with Repair.
            transaction.begin()  # see what the jobs committed
            self.on_portal()
            retitle(find(self.portal, page_uid), "Edited here", 1)
            transaction.commit()
            page.click("#step-verify-src")
            self.wait_for_job(page, "Verify")
            page.click("#last-run-src .last-run-link")
            page.wait_for_url("**/@@sync-run?job=*")
            self.assertIn("Edited here", page.locator("#run-differences").inner_text())
            self.assertTrue(page.locator("#repair button").is_visible())
            self.screenshot(page, "verify")

            page.click("#history-link")
            page.wait_for_url("**/@@sync-history?remote=src")
            self.assertEqual(page.locator("#runs .run-step").all_inner_texts(), ["Verify", "Import", "Fetch"])
            self.screenshot(page, "history")

            # A conflict: the same page changed here and on the peer.
            transaction.begin()
            self.on_source()
            retitle(find(self.source, page_uid), "Edited on the peer", 2)
            transaction.commit()
            page.goto(f"{self.plone_url}/@@sync")
            page.click("#step-update-src")
            self.wait_for_job(page, "Get Updates")
            self.assertEqual(page.locator("#conflicts-link-src .conflict-count").inner_text(), "1")
            page.click("#conflicts-link-src")
            page.wait_for_url("**/@@sync-conflicts?remote=src")
            self.assertEqual(page.locator(".sync-conflict .field-title .remote").inner_text(), "Edited on the peer")
            self.screenshot(page, "conflicts")

            page.goto(f"{self.plone_url}/@@sync-updates?remote=src")
            page.goto(f"{self.plone_url}/@@sync-delete-remote?remote=src")
            page.goto(f"{self.plone_url}/@@sync-edit-remote?remote=src")
            self.assert_clean(page)

    def test_running_job(self):
        remote = self.make_remote()
        remote.last_plan = {"create": 30, "update": 0, "move": 0, "delete": 0, "conflicts": 0, "unchanged": 0}
        job = Job("src", "import", "button")
        job.state, job.total, job.done = "running", 30, 12
        job.started = job.created
        JobStore(self.portal).add(job)
        remote.active_job = job.id
        transaction.commit()
        with self.page() as page:
            page.goto(f"{self.plone_url}/@@sync")
            box = page.locator("#job-src")
            self.assertEqual(box.get_attribute("data-job-active"), "true")
            page.wait_for_function("document.querySelector('#job-src .job-done').textContent === '12'")
            self.assertEqual(box.locator(".progress-bar").get_attribute("aria-valuenow"), "40")
            self.assertEqual(box.locator(".job-state").inner_text(), "running")
            self.screenshot(page, "running-job", "#remotes")
            # The job goes on: the page follows it without a reload.
            job.done, job.heartbeat = 24, time.time()
            transaction.commit()
            page.wait_for_function("document.querySelector('#job-src .job-done').textContent === '24'")
            self.assert_clean(page)


class TestBundleScreens(BrowserUITestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_export_download_and_import_a_bundle(self):
        self.on_source()
        originals = build_corpus(self.source, 6)
        create_remote(self.source, {"name": "to-plone", "url": self.plone_url, "bundle_key": BUNDLE_KEY})
        transaction.commit()
        self.make_remote(remote_prefix="", bundle_key=BUNDLE_KEY)
        source_url = site_url(self.layer, "source")
        with self.page() as page:
            page.goto(f"{source_url}/@@sync-bundles?remote=to-plone")
            self.assertEqual(page.locator("#no-bundle-key").count(), 0)
            page.click("#form-buttons-export")
            page.wait_for_url("**/@@sync-bundles?remote=to-plone")
            self.assertEqual(wait_for_job_threads(), [])
            page.reload()
            with page.expect_download() as download:
                page.click("#bundle-download")
            bundle = Path(self.tmp) / "bundle.zip"
            download.value.save_as(bundle)

            page.goto(f"{self.plone_url}/@@sync-bundles?remote=src")
            page.click("#form-buttons-import")  # no file chosen: said so, nothing started
            self.assertIn("Choose a bundle file", page.locator("#bundle-error").inner_text())
            page.set_input_files("#bundle", str(bundle))
            page.click("#form-buttons-import")
            page.wait_for_url("**/@@sync-bundles?remote=src")
            self.assertEqual(wait_for_job_threads(), [])
            page.reload()
            self.assertIn("Applied up to change", page.locator("#checkpoint").inner_text())
            self.screenshot(page, "bundles")
            page.goto(f"{self.plone_url}/@@sync")  # the plan the import applied, shown as done
            self.assertEqual(page.locator("#plan-src").get_attribute("data-plan-state"), "done")
            self.assertEqual(page.locator("#plan-src .done-created .count").inner_text(), str(len(originals)))
            self.assert_clean(page)
        transaction.begin()
        job = JobStore(self.portal).history("src")[0]
        self.assertEqual((job.step, job.state, list(job.errors)), ("bundle", "done", []))
        self.assertEqual({find(self.portal, obj.UID()) is not None for obj in originals}, {True})
