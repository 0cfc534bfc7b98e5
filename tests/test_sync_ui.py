"""The sync steps in the browser: live progress on the Sync page, Get Updates by date, conflicts.

One end-to-end test drives headless Chromium against the WSGI-served sites; the others
use the in-process test browser.
"""

import re
import time
import unittest
from datetime import datetime
from urllib.parse import urlencode

import transaction
from DateTime import DateTime
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD

from senaite_style_sync.actions.jobs import BAD_SINCE
from senaite_style_sync.actions.jobs import MISSING_SINCE
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.state import Conflict
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.testing import EDITOR_NAME
from senaite_style_sync.testing import EDITOR_PASSWORD
from senaite_style_sync.testing import wait_for_job_threads
from tests.browser_helpers import SYNC_BROWSER_TESTING
from tests.browser_helpers import InProcessBrowser
from tests.browser_helpers import logged_in_page
from tests.browser_helpers import require_browser
from tests.browser_helpers import site_url
from tests.corpus import build_corpus
from tests.sync_helpers import SyncTestCase


SCREENSHOT = "/tmp/sync-progress.png"
JOB_TIMEOUT_MS = 60_000


def find(site, uid):
    """The object with ``uid`` inside ``site`` (unrestricted: the test thread is anonymous), or None."""
    site_path = "/".join(site.getPhysicalPath()) + "/"
    brains = [b for b in site.portal_catalog.unrestrictedSearchResults(UID=uid) if b.getPath().startswith(site_path)]
    return brains[0]._unrestrictedGetObject() if brains else None


def retitle(obj, title, minutes_ahead):
    """Change the title and give a later modification date than anything synced so far."""
    obj.title = title
    obj.setModificationDate(DateTime() + minutes_ahead / 1440)
    obj.reindexObject(idxs=["Title", "SearchableText", "sortable_title", "modified"])


class TestSyncInBrowser(SyncTestCase):
    layer = SYNC_BROWSER_TESTING

    def setUp(self):
        super().setUp()
        self.browser = require_browser(self.layer)
        self.sync_url = site_url(self.layer, "plone") + "/@@sync"

    def tearDown(self):
        self.assertEqual(wait_for_job_threads(), [])

    def wait_for_job_end(self, page, expected_step):
        """Watch the job box until its state is done; returns the progress values seen on the way."""
        box = page.locator("#job-src")
        self.assertEqual(box.locator(".job-step").inner_text(), expected_step)
        seen = []
        deadline = time.monotonic() + JOB_TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            state = box.get_attribute("data-job-state")
            seen.append(int(box.locator(".progress-bar").get_attribute("aria-valuenow")))
            if state not in ("queued", "running"):
                break
            page.wait_for_timeout(100)
        # The page's script reloads it when the job has ended. Only the server renders the
        # outcome, so once it is there the reload is done and no other is coming.
        box.locator(".job-outcome").wait_for(timeout=JOB_TIMEOUT_MS)
        self.assertEqual(box.locator(".job-state").inner_text(), "done", box.inner_text())
        self.assertEqual(box.get_attribute("data-job-active"), "false")
        self.assertEqual(box.locator(".progress-bar").get_attribute("aria-valuenow"), "100")
        self.assertEqual(seen, sorted(seen), "progress went backwards")
        return seen

    def test_fetch_import_and_get_updates_with_live_progress(self):
        self.on_source()
        originals = build_corpus(self.source, 30)
        uids = [obj.UID() for obj in originals]
        page_uid = [obj.UID() for obj in originals if obj.portal_type == "Document"][-1]
        transaction.commit()
        self.make_remote()

        with logged_in_page(self.browser, SITE_OWNER_NAME, SITE_OWNER_PASSWORD) as page:
            polls = []
            page.on("request", lambda request: "/@sync-jobs/" in request.url and polls.append(request.url))
            page.goto(self.sync_url)
            self.assertEqual(page.locator("#plan-src .plan-none").count(), 1)
            self.assertEqual(page.locator("#job-src").count(), 0)

            # Fetch: the plan appears once the job has ended.
            page.click("#step-fetch-src")
            page.wait_for_url(self.sync_url)
            self.assertIn("Fetch started for 'src'.", page.locator("#global_statusmessage").inner_text())
            self.wait_for_job_end(page, "Fetch")
            self.assertEqual(page.locator("#plan-src .plan-create .count").inner_text(), "30")
            self.assertEqual(page.locator("#plan-src .plan-update .count").inner_text(), "0")
            self.assertEqual(page.locator("#plan-src .plan-conflicts .count").inner_text(), "0")
            self.assertIn("30 objects in scope", page.locator("#job-src .job-outcome").inner_text())

            # Import: the progress bar follows the job to 100 %.
            polls.clear()
            page.click("#step-import-src")
            page.wait_for_url(self.sync_url)
            rendered_active = page.locator("#job-src").get_attribute("data-job-active") == "true"
            seen = self.wait_for_job_end(page, "Import")
            if rendered_active:  # the page was shown while the job ran: its script followed it
                self.assertTrue(polls, "the page never asked for the job's progress")
                self.assertLess(seen[0], 100)
            self.assertEqual(page.locator("#job-src .job-done").inner_text(), "30")
            self.assertEqual(page.locator("#job-src .job-total").inner_text(), "30")
            self.assertEqual(page.locator("#job-src .job-outcome").inner_text(), "30 created")
            self.assertEqual(page.locator("#job-src .job-errors").count(), 0)

            transaction.begin()  # see what the job committed
            self.assertEqual([uid for uid in uids if find(self.portal, uid) is None], [])

            # Get Updates after one change on the peer.
            self.on_source()
            retitle(find(self.source, page_uid), "Changed on the peer", 2)
            transaction.commit()
            page.click("#step-update-src")
            page.wait_for_url(self.sync_url)
            self.wait_for_job_end(page, "Get Updates")
            self.assertEqual(page.locator("#job-src .job-outcome").inner_text(), "1 updated")
            with open(SCREENSHOT, "wb") as stream:  # path= would leave a Playwright thread behind
                stream.write(page.screenshot(full_page=True))
            self.assertEqual(page.js_errors, [])

        transaction.begin()
        self.assertEqual(find(self.portal, page_uid).title, "Changed on the peer")


class BrowserTestCase(InProcessBrowser, SyncTestCase):
    """In-process test browser, logged in as the site owner."""

    def stored(self, name="src"):
        transaction.begin()
        return RemoteStorage(self.portal).get(name)

    def running_job(self, remote):
        job = Job(remote.name, "fetch", "test")
        job.state = "running"
        JobStore(self.portal).add(job)
        remote.active_job = job.id
        transaction.commit()
        return job

    def post(self, browser, view, data):
        browser.open(f"{self.portal_url}/{view}", urlencode(data, doseq=True))


class TestSyncPage(BrowserTestCase):
    def test_plan_job_outcome_and_errors_shown(self):
        remote = self.make_remote()
        remote.last_plan = {"create": 3, "update": 2, "move": 0, "delete": 1, "conflicts": 4, "unchanged": 7}
        remote.state.conflicts["uid-1"] = Conflict("uid-1", "folder/page", "changed here and on the peer", "", "", "")
        job = Job("src", "fetch", "button")  # the plan waits for an Import: shown as what it will do
        job.state, job.total, job.done = "done", 10, 10
        job.message = "6 created, 2 errors"
        job.add_error("folder/a", "write", "ApplyError: no parent")
        job.add_error("folder/b", "read", "HTTP 500")
        JobStore(self.portal).add(job)
        remote.active_job = job.id
        transaction.commit()

        self.browser.open(f"{self.portal_url}/@@sync")
        contents = self.text()
        for key, count in remote.last_plan.items():
            with self.subTest(plan=key):
                self.assertRegex(
                    contents, rf'class="list-inline-item plan-{key}">\s*<span class="count">{count}</span>'
                )
        self.assertIn(f'data-job-id="{job.id}"', contents)
        self.assertIn(f'data-job-url="{self.portal_url}/@sync-jobs/{job.id}"', contents)
        self.assertIn('data-job-active="false"', contents)
        self.assertIn('aria-valuenow="100"', contents)
        self.assertIn('<span class="job-done">10</span>/<span class="job-total">10</span>', contents)
        self.assertIn('<span class="job-outcome">6 created, 2 errors</span>', contents)
        for obj, step, message in (("folder/a", "write", "ApplyError: no parent"), ("folder/b", "read", "HTTP 500")):
            self.assertIn(f'<td class="error-object">{obj}</td>', contents)
            self.assertIn(f'<td class="error-step">{step}</td>', contents)
            self.assertIn(f'<td class="error-message">{message}</td>', contents)
        self.assertIn("++resource++senaite_style_sync/sync.js", contents)
        self.assertIn('<span class="conflict-count">1</span>', contents)
        self.browser.open(f"{self.portal_url}/++resource++senaite_style_sync/sync.js")
        self.assertIn(
            "data-job-url",
            self.browser.contents.decode() if isinstance(self.browser.contents, bytes) else self.browser.contents,
        )

    def add_job(self, step, state, moment, **counts):
        job = Job("src", step, "button")
        job.state, job.created, job.ended = state, moment, moment
        for key, value in counts.items():
            job.count(key, value)
        JobStore(self.portal).add(job)
        transaction.commit()
        return job

    def plan_block(self):
        self.browser.open(f"{self.portal_url}/@@sync")
        match = re.search(
            r'<div class="sync-plan" id="plan-src" data-plan-state="(\w+)">(.*?)</div>', self.text(), re.S
        )
        self.assertIsNotNone(match)
        return match.group(1), match.group(2)

    def test_plan_will_do_until_an_import_did_it(self):
        remote = self.make_remote()
        self.assertEqual(self.plan_block()[0], "none")  # no Fetch yet
        remote.last_plan = {"create": 3, "update": 2, "move": 0, "delete": 1, "conflicts": 0, "unchanged": 7}
        transaction.commit()
        self.add_job("fetch", "done", datetime(2026, 3, 1, 9, 0))
        # An Import that failed applied nothing: the plan still waits.
        self.add_job("import", "failed", datetime(2026, 3, 1, 9, 5), created=1)
        state, block = self.plan_block()
        self.assertEqual(state, "pending")
        self.assertIn("Will do:", block)
        self.assertRegex(block, r'class="list-inline-item plan-create">\s*<span class="count">3</span>')

        done = self.add_job("import", "done", datetime(2026, 3, 1, 9, 10), created=3, updated=2, deleted=1, errors=1)
        state, block = self.plan_block()
        self.assertEqual(state, "done")
        self.assertIn("Done:", block)
        self.assertNotIn("plan-create", block)  # the stale plan is gone
        self.assertIn(f'href="{self.portal_url}/@@sync-run?job={done.id}"', block)
        self.assertIn("Import, ended 2026-03-01 09:10", block)
        for key, count in (("created", 3), ("updated", 2), ("moved", 0), ("deleted", 1), ("errors", 1)):
            self.assertRegex(block, rf'class="list-inline-item done-{key}">\s*<span class="count">{count}</span>')

        # The next Fetch plans anew; a Get Updates applies its own plan at once.
        self.add_job("fetch", "done", datetime(2026, 3, 1, 9, 20))
        self.assertEqual(self.plan_block()[0], "pending")
        self.add_job("update", "needs-confirmation", datetime(2026, 3, 1, 9, 30), updated=4)
        state, block = self.plan_block()
        self.assertEqual(state, "done")
        self.assertIn("Get Updates, ended 2026-03-01 09:30", block)

    def test_running_job_is_followed_live(self):
        remote = self.make_remote()
        job = self.running_job(remote)
        self.browser.open(f"{self.portal_url}/@@sync")
        contents = self.text()
        self.assertIn('data-job-active="true"', contents)
        self.assertIn('<span class="job-state badge bg-info">running</span>', contents)
        self.assertIn("progress-bar-animated", contents)
        # A running job refuses the step buttons.
        self.browser.getControl("Import").click()
        self.assertIn("A fetch job for 'src' is still running", self.text())
        self.assertEqual(self.stored().active_job, job.id)


class TestUpdatesPage(BrowserTestCase):
    def open_form(self):
        self.make_remote()
        self.browser.open(f"{self.portal_url}/@@sync")
        self.browser.getLink(url="@@sync-updates?remote=src").click()
        self.assertIn("Get Updates from src", self.browser.contents)

    def submit(self, since):
        self.browser.getControl(name="since").value = since
        self.browser.getControl(name="form.buttons.update").click()

    def test_bad_date_shows_error_and_starts_nothing(self):
        self.open_form()
        for since, message in (
            ("", MISSING_SINCE),
            ("yesterday", BAD_SINCE),
            ("2026-02-30T10:00", BAD_SINCE),
            ("20.11.2026 10:00", BAD_SINCE),
        ):
            with self.subTest(since=since):
                self.submit(since)
                self.assertIn("/@@sync-updates", self.browser.url)
                self.assertIn(message, self.text())
                self.assertIn('id="since-error"', self.browser.contents)
                self.assertEqual(self.browser.getControl(name="since").value, since)  # kept for correcting
        self.assertEqual(self.stored().active_job, "")

    def test_good_date_starts_an_update_job(self):
        self.open_form()
        self.submit("2026-11-20T10:00")
        self.assertEqual(self.browser.url, f"{self.portal_url}/@@sync")
        self.assertIn("Get Updates started for 'src'.", self.text())
        self.assertIn("Objects modified since 2026-11-20T10:00:00+00:00 are read again.", self.text())
        job = JobStore(self.portal).get(self.stored().active_job)
        self.assertEqual((job.step, job.since, job.trigger), ("update", "2026-11-20T10:00:00+00:00", "button"))

    def test_refused_while_a_job_runs(self):
        self.open_form()
        job = self.running_job(self.stored())
        self.submit("2026-11-20T10:00:30")
        self.assertIn("is still running", self.text())
        self.assertEqual(self.stored().active_job, job.id)


class TestConflictsPage(BrowserTestCase):
    def make_conflict(self, uid, peer_title, local_title):
        self.on_source()
        retitle(find(self.source, uid), peer_title, 1)
        transaction.commit()
        self.on_portal()
        retitle(find(self.portal, uid), local_title, 2)
        transaction.commit()
        job = self.run_step("update")
        self.assertEqual(job.counts.get("conflicts"), 1, (dict(job.counts), list(job.errors)))

    def synced_page(self):
        """A page imported from the peer; returns its UID."""
        self.on_source()
        originals = build_corpus(self.source, 6)  # a single page: no relations
        uid = next(obj.UID() for obj in originals if obj.portal_type == "Document")
        transaction.commit()
        self.make_remote()
        self.run_step("fetch")
        self.run_step("import")
        return uid

    def test_merge_takes_the_ticked_fields_from_the_peer(self):
        uid = self.synced_page()
        self.make_conflict(uid, "Peer title", "Local title")
        self.browser.open(f"{self.portal_url}/@@sync-conflicts?remote=src")
        self.browser.getControl("Merge: the ticked fields from the peer, the rest kept").click()
        self.assertIn("Name the fields to take from the peer.", self.text())  # nothing ticked: nothing done
        self.assertIn(uid, self.stored().state.conflicts)
        self.browser.getControl(name="fields:list").value = ["title"]
        self.browser.getControl("Merge: the ticked fields from the peer, the rest kept").click()
        self.assertIn("taken from the peer, the rest kept.", self.text())
        self.assertIn("No conflicts.", self.browser.contents)
        self.assertEqual(find(self.portal, uid).title, "Peer title")
        self.assertEqual(self.run_step("update").counts.get("conflicts", 0), 0)  # settled

    def test_keep_local_then_take_remote(self):
        uid = self.synced_page()
        self.make_conflict(uid, "Peer title", "Local title")

        self.browser.open(f"{self.portal_url}/@@sync")
        self.assertIn('<span class="conflict-count">1</span>', self.browser.contents)
        self.browser.getLink(url="@@sync-conflicts?remote=src").click()
        contents = self.text()
        self.assertIn(f'id="conflict-{uid}"', contents)
        self.assertIn('<td class="local">Local title</td>', contents)
        # The peer's title, with the box that takes it alone (Merge).
        self.assertRegex(
            contents,
            r'<td class="remote"><label><input type="checkbox" name="fields:list" class="take-field" value="title"\s*/>Peer title</label></td>',
        )
        self.assertIn("<details", contents)
        self.assertIn('"title": "Peer title"', contents)

        self.browser.getControl("Keep the local version").click()
        self.assertIn("@@sync-conflicts?remote=src", self.browser.url)
        self.assertIn("was kept.", self.text())
        self.assertIn("No conflicts.", self.browser.contents)
        remote = self.stored()
        self.assertNotIn(uid, remote.state.conflicts)
        self.assertEqual(find(self.portal, uid).title, "Local title")
        self.assertEqual(self.run_step("update").counts.get("conflicts", 0), 0)  # settled

        self.make_conflict(uid, "Peer title 2", "Local title 2")
        job = self.running_job(self.stored())
        self.browser.open(f"{self.portal_url}/@@sync-conflicts?remote=src")
        self.assertIn("The Fetch job for 'src' is running", self.text())
        self.browser.getControl("Take the remote version").click()
        self.assertIn("is still running", self.text())  # said so; the choice is kept for the next Import
        remote = self.stored()
        self.assertEqual(remote.state.resolutions.get(uid), "remote")
        self.assertEqual(remote.active_job, job.id)

        job.state = "done"
        transaction.commit()
        self.browser.getControl("Take the remote version").click()
        self.assertIn("Import started for 'src'", self.text())
        self.assertEqual(wait_for_job_threads(), [])
        transaction.begin()
        imported = JobStore(self.portal).get(self.stored().active_job)
        self.assertEqual((imported.step, imported.state), ("import", "done"))
        self.assertEqual(find(self.portal, uid).title, "Peer title 2")
        self.assertNotIn(uid, self.stored().state.conflicts)

    def test_buttons_need_the_csrf_token(self):
        remote = self.make_remote()
        remote.state.conflicts["uid-1"] = Conflict(
            "uid-1", "folder/page", "changed here and on the peer", "{}", "{}", ""
        )
        transaction.commit()
        self.browser.handleErrors = True
        for view, data in (
            ("@@sync-conflicts", {"remote": "src", "uid": "uid-1", "take": "remote"}),
            ("@@sync-conflicts", {"remote": "src", "uid": "uid-1", "take": "local"}),
            ("@@sync-updates", {"remote": "src", "since": "2026-11-20T10:00", "form.buttons.update": "Get Updates"}),
        ):
            with self.subTest(view=view, data=data):
                self.post(self.browser, view, data)
                self.assertEqual(self.browser.headers["status"], "403 Forbidden")
        remote = self.stored()
        self.assertIn("uid-1", remote.state.conflicts)
        self.assertNotIn("uid-1", remote.state.resolutions)
        self.assertEqual(remote.active_job, "")

    def test_anonymous_and_editor_refused(self):
        remote = self.make_remote()
        remote.state.conflicts["uid-1"] = Conflict(
            "uid-1", "folder/page", "changed here and on the peer", "{}", "{}", ""
        )
        transaction.commit()
        for user, password in ((None, None), (EDITOR_NAME, EDITOR_PASSWORD)):
            browser = self.browser_as(user, password)
            browser.handleErrors = True
            for view in ("@@sync-updates?remote=src", "@@sync-conflicts?remote=src"):
                with self.subTest(user=user, view=view):
                    browser.open(f"{self.portal_url}/{view}")
                    expected = "/login?came_from=" if user is None else "/insufficient-privileges"
                    self.assertIn(expected, browser.url)
                    self.assertNotIn("folder/page", browser.contents)


if __name__ == "__main__":
    unittest.main()
