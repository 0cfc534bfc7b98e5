"""Auto-Sync: interval logic, the do_auto_sync hook over HTTP, concurrent calls, the clock, history, e-mail."""

import email
import email.header
import threading
import time
from datetime import datetime
from datetime import timedelta
from unittest import mock

import requests
import transaction
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD

from senaite_style_sync.jobs import clock
from senaite_style_sync.jobs.schedule import run_auto_sync
from senaite_style_sync.model.jobs import KEEP_PER_REMOTE
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.testing import EDITOR_NAME
from senaite_style_sync.testing import EDITOR_PASSWORD
from tests.corpus import build_corpus
from tests.sync_helpers import SyncTestCase


def wait_for(predicate, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        transaction.begin()
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


class AutoSyncTestCase(SyncTestCase):
    def setUp(self):
        super().setUp()
        self.on_source()
        build_corpus(self.source, 8)
        transaction.commit()
        self.remote = self.make_remote(auto_sync=True, auto_sync_interval=30)
        self.hook = f"http://{self.layer['host']}:{self.layer['port']}/plone/do_auto_sync"

    def jobs(self):
        transaction.begin()
        return JobStore(self.portal).history("src")

    def finished(self):
        jobs = self.jobs()
        return jobs if jobs and all(job.state in ("done", "failed") for job in jobs) else None


class TestSchedule(AutoSyncTestCase):
    def test_due_running_not_due(self):
        self.on_portal()
        first = run_auto_sync(self.portal, "hook")
        self.assertEqual([(d.remote, d.action) for d in first], [("src", "started")])
        second = run_auto_sync(self.portal, "hook")
        self.assertEqual(second[0].action, "running")
        transaction.commit()
        wait_for(self.finished)
        self.on_portal()
        remote = RemoteStorage(self.portal).get("src")
        self.assertEqual(
            run_auto_sync(self.portal, "hook", now=remote.last_auto_run + timedelta(minutes=29))[0].action, "not-due"
        )
        self.assertEqual(
            run_auto_sync(self.portal, "hook", now=remote.last_auto_run + timedelta(minutes=31))[0].action, "started"
        )
        transaction.commit()
        wait_for(self.finished)

    def test_remotes_without_auto_sync_are_left_alone(self):
        from senaite_style_sync.actions.remotes import edit_remote

        edit_remote(RemoteStorage(self.portal).get("src"), {"auto_sync": False})
        transaction.commit()
        self.assertEqual(run_auto_sync(self.portal, "hook"), [])

    def test_history_is_capped_per_remote(self):
        store = JobStore(self.portal)
        for n in range(KEEP_PER_REMOTE + 5):
            job = Job("src", "update", "hook")
            job.created = datetime(2026, 1, 1) + timedelta(minutes=n)
            job.state = "done"
            store.add(job)
        other = Job("other", "fetch", "button")
        store.add(other)
        history = store.history("src")
        self.assertEqual(len(history), KEEP_PER_REMOTE)
        self.assertEqual(history[-1].created, datetime(2026, 1, 1) + timedelta(minutes=5))
        self.assertIs(store.get(other.id), other)


class TestHook(AutoSyncTestCase):
    def get(self, url, auth=(SITE_OWNER_NAME, SITE_OWNER_PASSWORD), **headers):
        return requests.get(url, auth=auth, headers=headers, timeout=30, allow_redirects=False)

    def test_hook_answers_text_and_json_and_starts_one_update(self):
        answer = self.get(self.hook)
        self.assertEqual(answer.status_code, 200, answer.text)
        self.assertTrue(answer.text.startswith("src: started (update job "), answer.text)
        jobs = wait_for(self.finished)
        self.assertEqual([(job.step, job.trigger, job.state) for job in jobs], [("update", "hook", "done")])
        self.assertEqual(jobs[0].counts.get("created"), 8)
        as_json = self.get(self.hook.replace("do_auto_sync", "@@do_auto_sync"), Accept="application/json")
        self.assertEqual(
            as_json.json(),
            {"remotes": [{"remote": "src", "action": "not-due", "detail": as_json.json()["remotes"][0]["detail"]}]},
        )

    def test_hook_needs_the_permission(self):
        self.assertIn(self.get(self.hook, auth=None).status_code, (302, 401))
        self.assertIn(self.get(self.hook, auth=(EDITOR_NAME, EDITOR_PASSWORD)).status_code, (302, 401, 403))
        self.assertEqual(self.jobs(), [])

    def test_simultaneous_calls_start_one_job(self):
        answers = []
        barrier = threading.Barrier(4)

        def call():
            barrier.wait()
            answers.append(self.get(self.hook).text)

        threads = [threading.Thread(target=call) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(sum("started" in answer for answer in answers), 1, answers)
        self.assertEqual(len(wait_for(self.finished)), 1)


class TestClock(AutoSyncTestCase):
    def test_clock_configured_in_product_config_runs_the_update(self):
        config = {"clock-enabled": "on", "clock-sites": "/plone", "clock-period": "0.3"}
        self.assertIsNone(clock.clock_settings({"clock-sites": "/plone"}))  # off unless enabled
        event = mock.Mock(database=self.portal._p_jar.db())
        with mock.patch.object(clock, "product_config", return_value=config):
            clock.start_clock(event)
        try:
            jobs = wait_for(self.finished)
        finally:
            clock.stop_clocks()
        self.assertEqual(jobs[0].trigger, "clock")
        self.assertEqual(jobs[0].counts.get("created"), 8)


class TestFailureMail(AutoSyncTestCase):
    def test_failed_automatic_run_mails_the_admin(self):
        from Products.CMFPlone.tests.utils import MockMailHost
        from Products.MailHost.interfaces import IMailHost

        from senaite_style_sync.actions.remotes import edit_remote

        self.on_portal()
        mailhost = MockMailHost("MailHost")
        self.portal._delObject("MailHost", suppress_events=True)
        self.portal._setObject("MailHost", mailhost, set_owner=False, suppress_events=True)
        sm = self.portal.getSiteManager()
        sm.unregisterUtility(provided=IMailHost)
        sm.registerUtility(self.portal.MailHost, provided=IMailHost)
        api.portal.set_registry_record("plone.email_from_address", "admin@example.org")
        api.portal.set_registry_record("plone.email_from_name", "Admin")
        edit_remote(RemoteStorage(self.portal).get("src"), {"url": "http://localhost:9/unreachable", "password": "x"})
        transaction.commit()
        self.assertEqual(self.get_hook_status(), 200)
        jobs = wait_for(self.finished)
        self.assertEqual(jobs[0].state, "failed")
        messages = wait_for(lambda: self.portal.MailHost.messages)
        mail = email.message_from_bytes(messages[0])
        self.assertEqual(mail["To"], "admin@example.org")
        self.assertEqual(
            str(email.header.make_header(email.header.decode_header(mail["Subject"]))), "Sync of 'src' failed"
        )
        self.assertIn("localhost:9/unreachable", mail.get_payload(decode=True).decode())

    def get_hook_status(self):
        return requests.get(self.hook, auth=(SITE_OWNER_NAME, SITE_OWNER_PASSWORD), timeout=30).status_code
