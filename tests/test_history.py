"""Run history: the history page of a remote, the run page of a job, and the last and next runs on the Sync page."""

import re
import unittest
from datetime import datetime
from datetime import timedelta

import transaction

from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.testing import EDITOR_NAME
from senaite_style_sync.testing import EDITOR_PASSWORD
from tests.browser_helpers import InProcessBrowser
from tests.sync_helpers import SyncTestCase


COUNT_KEYS = ("created", "updated", "moved", "deleted", "conflicts", "errors")


class HistoryTestCase(InProcessBrowser, SyncTestCase):
    def add_job(
        self,
        step,
        trigger,
        state,
        created,
        duration=None,
        counts=None,
        errors=(),
        message="",
        remote="src",
        plan=None,
        since="",
    ):
        """A job record as a finished (or running) run leaves it; ``duration`` in seconds from its start."""
        self.on_portal()
        job = Job(remote, step, trigger, since)
        job.state = state
        job.created = created
        job.started = created + timedelta(seconds=1) if duration is not None else None
        if duration is not None and state not in ("queued", "running"):
            job.ended = job.started + timedelta(seconds=duration)
        for key, value in (counts or {}).items():
            job.count(key, value)
        for obj, error_step, error_message in errors:
            job.add_error(obj, error_step, error_message)
        job.plan.update(plan or {})
        job.message = message
        JobStore(self.portal).add(job)
        transaction.commit()
        return job

    def row_html(self, contents, job):
        """The history table's row of ``job`` (fails when the row is missing)."""
        match = re.search(rf'<tr[^>]*id="run-{job.id}".*?</tr>', contents, re.DOTALL)
        self.assertIsNotNone(match, f"no row for job {job.id}")
        return match.group(0)

    def cell(self, row, css_class):
        match = re.search(rf'<td class="{css_class}">(.*?)</td>', row, re.DOTALL)
        self.assertIsNotNone(match, f"no cell {css_class}")
        return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


class TestHistoryPage(HistoryTestCase):
    def setUp(self):
        super().setUp()
        self.make_remote(auto_sync=True, auto_sync_interval=15)
        self.make_remote("other")
        # Added out of order: the page sorts by creation.
        self.middle = self.add_job(
            "import",
            "button",
            "failed",
            datetime(2026, 3, 2, 14, 0, 0),
            duration=125,
            counts={"created": 6, "updated": 1, "moved": 2, "deleted": 3, "conflicts": 4},
            errors=[("folder/a", "write", "ApplyError: no parent"), ("folder/b", "read", "HTTP 500")],
            message="6 created, 2 errors",
        )
        self.newest = self.add_job(
            "update",
            "clock",
            "done",
            datetime(2026, 3, 3, 8, 30, 0),
            duration=9,
            counts={"updated": 5},
            message="5 updated",
            since="2026-03-02T00:00:00+00:00",
        )
        self.oldest = self.add_job(
            "fetch",
            "rest",
            "done",
            datetime(2026, 3, 1, 9, 0, 0),
            duration=3700,
            counts={"requests": 12},
            plan={"create": 30, "update": 0, "unchanged": 4},
            message="30 objects in scope",
        )
        self.foreign = self.add_job(
            "fetch",
            "button",
            "done",
            datetime(2026, 3, 4, 9, 0, 0),
            duration=1,
            remote="other",
            message="other remote's run",
        )

    def test_runs_listed_newest_first_with_their_counts(self):
        self.browser.open(f"{self.portal_url}/@@sync-history?remote=src")
        contents = self.text()
        ids = re.findall(r'<tr class="run"[^>]*id="run-([0-9a-f]+)"', contents)
        self.assertEqual(ids, [self.newest.id, self.middle.id, self.oldest.id])
        self.assertNotIn(self.foreign.id, contents)
        self.assertNotIn("other remote's run", contents)

        expected = {
            self.newest: (
                "Get Updates",
                "clock",
                "2026-03-03 08:30:01",
                "2026-03-03 08:30:10",
                "9 s",
                "done 5 updated",
                (0, 5, 0, 0, 0, 0),
            ),
            self.middle: (
                "Import",
                "button",
                "2026-03-02 14:00:01",
                "2026-03-02 14:02:06",
                "2 min 5 s",
                "failed 6 created, 2 errors",
                (6, 1, 2, 3, 4, 2),
            ),
            self.oldest: (
                "Fetch",
                "rest",
                "2026-03-01 09:00:01",
                "2026-03-01 10:01:41",
                "1 h 1 min",
                "done 30 objects in scope",
                (0, 0, 0, 0, 0, 0),
            ),
        }
        for job, (step, trigger, started, ended, duration, outcome, counts) in expected.items():
            with self.subTest(step=step):
                row = self.row_html(contents, job)
                self.assertEqual(self.cell(row, "run-step"), step)
                self.assertIn(f'href="{self.portal_url}/@@sync-run?job={job.id}"', row)
                self.assertEqual(self.cell(row, "run-trigger"), trigger)
                self.assertEqual(self.cell(row, "run-started"), started)
                self.assertEqual(self.cell(row, "run-ended"), ended)
                self.assertEqual(self.cell(row, "run-duration"), duration)
                self.assertEqual(self.cell(row, "run-outcome"), outcome)
                self.assertEqual(tuple(int(self.cell(row, f"count count-{key}")) for key in COUNT_KEYS), counts)
        self.assertIn("bg-danger", self.row_html(contents, self.middle))
        self.assertNotIn("bg-danger", self.row_html(contents, self.newest))

    def test_row_links_to_its_run_page(self):
        self.browser.open(f"{self.portal_url}/@@sync-history?remote=src")
        self.browser.getLink(url=f"@@sync-run?job={self.middle.id}").click()
        self.assertEqual(self.browser.url, f"{self.portal_url}/@@sync-run?job={self.middle.id}")
        self.assertIn(f'data-job-id="{self.middle.id}"', self.browser.contents)

    def test_no_runs(self):
        self.make_remote("fresh")
        self.browser.open(f"{self.portal_url}/@@sync-history?remote=fresh")
        self.assertIn('id="no-runs"', self.browser.contents)
        self.assertNotIn('class="run"', self.browser.contents)

    def test_run_page_shows_fields_counts_plan_and_errors(self):
        self.browser.open(f"{self.portal_url}/@@sync-run?job={self.middle.id}")
        contents = self.text()
        for field, value in (
            ("id", self.middle.id),
            ("remote", "src"),
            ("step", "Import"),
            ("trigger", "button"),
            ("message", "6 created, 2 errors"),
            ("created", "2026-03-02 14:00:00"),
            ("started", "2026-03-02 14:00:01"),
            ("ended", "2026-03-02 14:02:06"),
            ("duration", "2 min 5 s"),
            ("progress", "0/0 (0%)"),
        ):
            with self.subTest(field=field):
                self.assertRegex(contents, rf'<tr class="field-{field}"><th>[^<]+</th><td>{re.escape(value)}</td></tr>')
        self.assertIn('<span class="run-state badge bg-danger">failed</span>', contents)
        counts = (("created", 6), ("updated", 1), ("moved", 2), ("deleted", 3), ("conflicts", 4), ("errors", 2))
        for key, count in counts:
            self.assertRegex(contents, rf'class="list-inline-item count-{key}">\s*<span class="count">{count}</span>')
        self.assertIn('<caption class="job-error-count">2 errors</caption>', contents)
        errors = re.findall(
            r'<tr class="job-error">\s*<td class="error-object">(.*?)</td>\s*<td class="error-step">(.*?)</td>\s*'
            r'<td class="error-message">(.*?)</td>',
            contents,
        )
        self.assertEqual(errors, [("folder/a", "write", "ApplyError: no parent"), ("folder/b", "read", "HTTP 500")])
        self.assertIn('id="run-plan-none"', contents)
        self.assertNotIn('id="run-errors-dropped"', contents)
        self.assertIn(f'href="{self.portal_url}/@@sync-history?remote=src"', contents)

    def test_run_page_plan_other_counts_and_since(self):
        self.browser.open(f"{self.portal_url}/@@sync-run?job={self.oldest.id}")
        contents = self.text()
        for key, count in (("create", 30), ("update", 0), ("unchanged", 4)):
            self.assertRegex(contents, rf'class="list-inline-item plan-{key}">\s*<span class="count">{count}</span>')
        self.assertRegex(contents, r'class="list-inline-item count-requests">\s*<span class="count">12</span>')
        self.assertIn('id="run-no-errors"', contents)
        self.assertNotIn('class="job-error"', contents)
        self.assertNotIn('class="field-since"', contents)
        self.browser.open(f"{self.portal_url}/@@sync-run?job={self.newest.id}")
        self.assertIn(
            '<tr class="field-since"><th>Modified since</th><td>2026-03-02T00:00:00+00:00</td></tr>',
            self.browser.contents,
        )

    def test_run_page_says_when_errors_were_dropped(self):
        job = self.add_job(
            "import",
            "button",
            "done",
            datetime(2026, 3, 5, 9, 0, 0),
            duration=60,
            errors=[("folder/c", "write", "boom")],
        )
        self.on_portal()
        stored = JobStore(self.portal).get(job.id)
        stored.counts["errors"] = 1500  # more than the job keeps
        transaction.commit()
        self.browser.open(f"{self.portal_url}/@@sync-run?job={job.id}")
        contents = " ".join(self.text().split())
        self.assertIn("1500 errors; the first 1 were kept.", contents)
        self.assertIn('<td class="error-object">folder/c</td>', contents)

    def test_unknown_job_or_remote_is_not_found(self):
        self.browser.handleErrors = True
        for view in (
            "@@sync-run?job=0123456789abcdef0123456789abcdef",
            "@@sync-run",
            "@@sync-run?job=",
            "@@sync-history?remote=nosuch",
        ):
            with self.subTest(view=view):
                self.browser.open(f"{self.portal_url}/{view}")
                self.assertEqual(self.browser.headers["status"], "404 Not Found")
        self.browser.open(f"{self.portal_url}/@@sync-run?job={self.oldest.id}")
        self.assertEqual(self.browser.headers["status"], "200 OK")

    def test_anonymous_and_editor_refused(self):
        for user, password in ((None, None), (EDITOR_NAME, EDITOR_PASSWORD)):
            browser = self.browser_as(user, password)
            browser.handleErrors = True
            for view in ("@@sync-history?remote=src", f"@@sync-run?job={self.middle.id}"):
                with self.subTest(user=user, view=view):
                    browser.open(f"{self.portal_url}/{view}")
                    expected = "/login?came_from=" if user is None else "/insufficient-privileges"
                    self.assertIn(expected, browser.url)
                    self.assertNotIn("6 created, 2 errors", browser.contents)


class TestSyncPage(HistoryTestCase):
    def status_block(self, contents, css_id):
        match = re.search(rf'<div class="[^"]*"\s+id="{css_id}">(.*?)</div>', contents, re.DOTALL)
        self.assertIsNotNone(match, f"no block {css_id}")
        return match.group(1)

    def test_last_run_history_link_and_next_run(self):
        remote = self.make_remote(auto_sync=True, auto_sync_interval=15)
        remote.last_auto_run = datetime(2099, 5, 4, 9, 50, 30)
        transaction.commit()
        self.make_remote("fresh", auto_sync=True, auto_sync_interval=15)
        self.make_remote("manual")
        done = self.add_job(
            "import",
            "button",
            "done",
            datetime(2026, 3, 2, 14, 0, 0),
            duration=125,
            counts={"created": 6},
            message="6 created",
        )
        self.add_job("fetch", "rest", "failed", datetime(2026, 3, 1, 9, 0, 0), duration=5, message="older run")
        running = self.add_job("update", "clock", "running", datetime(2026, 3, 3, 8, 0, 0), duration=0)

        self.browser.open(f"{self.portal_url}/@@sync")
        contents = self.text()
        # The last ended run, not the one still running nor an older one.
        last = self.status_block(contents, "last-run-src")
        self.assertIn(f'href="{self.portal_url}/@@sync-run?job={done.id}"', last)
        self.assertNotIn(running.id, last)
        self.assertIn('<span class="last-run-step">Import</span>', last)
        self.assertIn('<span class="last-run-ended">2026-03-02 14:02</span>', last)
        self.assertIn('<span class="last-run-outcome">6 created</span>', last)
        self.assertIn("bg-success", last)
        self.assertIn('class="last-run-none"', self.status_block(contents, "last-run-fresh"))
        self.assertIn(f'href="{self.portal_url}/@@sync-history?remote=src"', contents)
        self.assertIn(f'href="{self.portal_url}/@@sync-history?remote=manual"', contents)

        # Auto-Sync: the next run from the last one and the interval; never run: the next tick.
        self.assertIn('id="next-run-src">next run at 2099-05-04 10:05</div>', contents)
        self.assertIn('id="next-run-fresh">next run at the next clock tick</div>', contents)
        self.assertNotIn('id="next-run-manual"', contents)
        manual = re.search(r'<td class="auto-sync" id="auto-sync-manual">(.*?)</td>', contents, re.DOTALL).group(1)
        self.assertEqual(" ".join(re.sub(r"<[^>]+>", " ", manual).split()), "off")

        # The links lead to the pages.
        self.browser.getLink(url=f"@@sync-run?job={done.id}").click()
        self.assertIn('<tr class="field-message"><th>Outcome</th><td>6 created</td></tr>', self.browser.contents)
        self.browser.open(f"{self.portal_url}/@@sync")
        self.browser.getLink(url="@@sync-history?remote=src").click()
        self.assertEqual(len(re.findall(r'<tr class="run"', self.browser.contents)), 3)

    def test_overdue_next_run(self):
        remote = self.make_remote(auto_sync=True, auto_sync_interval=15)
        remote.last_auto_run = datetime(2020, 1, 2, 23, 50)
        transaction.commit()
        self.browser.open(f"{self.portal_url}/@@sync")
        self.assertIn(
            'id="next-run-src">next run at 2020-01-03 00:05 (overdue: at the next clock tick)</div>', self.text()
        )

    def test_a_failed_last_run_is_shown_as_failed(self):
        self.make_remote()
        failed = self.add_job(
            "update",
            "hook",
            "failed",
            datetime(2026, 3, 2, 14, 0, 0),
            duration=2,
            message="The peer answered HTTP 503.",
        )
        self.browser.open(f"{self.portal_url}/@@sync")
        last = self.status_block(self.text(), "last-run-src")
        self.assertIn(failed.id, last)
        self.assertIn('<span class="last-run-state badge bg-danger">failed</span>', last)
        self.assertIn('<span class="last-run-outcome">The peer answered HTTP 503.</span>', last)
        transaction.begin()
        self.assertEqual(RemoteStorage(self.portal).get("src").active_job, "")  # the page started nothing


if __name__ == "__main__":
    unittest.main()
