"""Who may change a Remote, and where its password may go: REST and the actions, over real HTTP."""

import os
import tempfile
import time
from datetime import datetime

import requests
import transaction
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD

from senaite_style_sync.actions.remotes import MANAGER_ONLY_EDIT
from senaite_style_sync.actions.remotes import MANAGER_ONLY_SET
from senaite_style_sync.actions.remotes import InvalidRemote
from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.actions.remotes import edit_remote
from senaite_style_sync.jobs.schedule import run_auto_sync
from senaite_style_sync.model import validation
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.testing import SITE_ADMIN_NAME
from senaite_style_sync.testing import SITE_ADMIN_PASSWORD
from senaite_style_sync.testing import wait_for_job_threads
from tests.test_rest import RestTestCase


OWNER = (SITE_OWNER_NAME, SITE_OWNER_PASSWORD)
SITE_ADMIN = (SITE_ADMIN_NAME, SITE_ADMIN_PASSWORD)
JSON = {"Accept": "application/json"}
LAB = {"name": "lab1", "url": "https://lab1.example.org/Plone", "username": "sync", "password": "Secret-1"}


class TestManagerOnly(RestTestCase):
    def test_a_site_administrator_cannot_allow_the_manager_role(self):
        refused = self.call("POST", auth=SITE_ADMIN, json=LAB | {"import_users": True, "allow_manager_role": True})
        self.assertEqual(refused.status_code, 403, refused.text)
        self.assertEqual(refused.json()["error"]["errors"], {"allow_manager_role": MANAGER_ONLY_SET})
        self.assertIsNone(self.stored("lab1"))

        self.assertEqual(self.call("POST", auth=SITE_ADMIN, json=LAB | {"import_users": True}).status_code, 201)
        refused = self.call("PATCH", "/lab1", auth=SITE_ADMIN, json={"allow_manager_role": True})
        self.assertEqual(refused.status_code, 403, refused.text)
        self.assertIn(MANAGER_ONLY_SET, refused.json()["error"]["message"])
        self.assertFalse(self.stored("lab1").allow_manager_role)

        # A Manager may; then the remote is the Manager's to change.
        self.assertEqual(self.call("PATCH", "/lab1", json={"allow_manager_role": True}).status_code, 204)
        self.assertTrue(self.stored("lab1").allow_manager_role)
        for change in (
            {"url": "https://mine.example.org/Plone", "password": "mine"},
            {"username": "me", "password": "mine"},
            {"import_users": False},
            {"allow_manager_role": False},
        ):
            with self.subTest(change=change):
                refused = self.call("PATCH", "/lab1", auth=SITE_ADMIN, json=change)
                self.assertEqual(refused.status_code, 403, refused.text)
                self.assertEqual(refused.json()["error"]["errors"], {"allow_manager_role": MANAGER_ONLY_EDIT})
        remote = self.stored("lab1")
        self.assertEqual((remote.url, remote.username, remote.password()), (LAB["url"], "sync", "Secret-1"))
        self.assertTrue(remote.allow_manager_role and remote.import_users)

    def test_the_actions_check_the_acting_user(self):
        site_admin = self.portal.acl_users.getUserById(SITE_ADMIN_NAME)
        with self.assertRaises(InvalidRemote) as caught:
            create_remote(self.portal, LAB | {"allow_manager_role": True}, user=site_admin)
        self.assertEqual(caught.exception.errors, {"allow_manager_role": MANAGER_ONLY_SET})
        remote = create_remote(self.portal, LAB | {"allow_manager_role": True})  # the test user is a Manager
        with self.assertRaises(InvalidRemote):
            edit_remote(remote, {"local_prefix": "here"}, user=site_admin)
        self.assertEqual(remote.local_prefix, "")


class TestPasswordFollowsTheOrigin(RestTestCase):
    def test_another_origin_needs_the_password_again(self):
        remote = create_remote(self.portal, LAB)
        token = remote._password_token
        for url in ("https://evil.example.org/Plone", "http://lab1.example.org/Plone", "https://lab1.example.org:8443"):
            with self.subTest(url=url):
                with self.assertRaises(InvalidRemote) as caught:
                    edit_remote(remote, {"url": url})
                self.assertEqual(caught.exception.errors, {"password": validation.PASSWORD_AGAIN})
                self.assertEqual((remote.url, remote._password_token), (LAB["url"], token))
        edit_remote(remote, {"url": "https://LAB1.example.org:443/Other"})  # the same origin: kept
        self.assertEqual(remote._password_token, token)
        edit_remote(remote, {"url": "https://lab2.example.org/Plone", "password": "Secret-2"})
        self.assertEqual(remote.password(), "Secret-2")
        # Without a username nothing needs the password: moving the remote drops it.
        edit_remote(remote, {"username": ""})
        edit_remote(remote, {"url": "https://lab3.example.org/Plone"})
        self.assertFalse(remote.has_password)

    def test_patch_to_another_host_keeps_no_password(self):
        create_remote(self.portal, LAB)
        transaction.commit()
        refused = self.call("PATCH", "/lab1", json={"url": "https://evil.example.org/Plone"})
        self.assertEqual(refused.status_code, 400, refused.text)
        self.assertEqual(refused.json()["error"]["errors"], {"password": validation.PASSWORD_AGAIN})
        self.assertEqual(self.stored("lab1").url, LAB["url"])


class TestRemoteInput(RestTestCase):
    def test_trailing_newline_and_credentials_in_the_url_are_refused(self):
        cases = (
            ({"name": "lab1\n", "url": LAB["url"]}, "name", validation.BAD_IDENTIFIER),
            ({"name": "lab1", "url": "https://sync:pw@lab1.example.org"}, "url", validation.URL_WITH_CREDENTIALS),
            ({"name": "lab1", "url": LAB["url"], "auto_sync_interval": 10**10}, "auto_sync_interval", None),
        )
        for body, field, message in cases:
            with self.subTest(body=body):
                response = self.call("POST", json=body)
                self.assertEqual(response.status_code, 400, response.text)
                self.assertEqual(response.json()["error"]["errors"][field], message or validation.BAD_INTERVAL)
        self.assertEqual(list(RemoteStorage(self.portal)), [])

    def test_a_huge_stored_interval_breaks_neither_the_page_nor_the_clock(self):
        remote = create_remote(self.portal, LAB | {"auto_sync": True})
        remote.auto_sync_interval = 10**10  # as stored before the bound existed
        remote.last_auto_run = datetime.now()
        transaction.commit()
        page = requests.get(f"{self.server}/plone/@@sync", auth=OWNER, timeout=30)
        self.assertEqual(page.status_code, 200)
        self.assertIn("next run at", page.text)
        self.assertEqual([d.action for d in run_auto_sync(self.portal, "hook")], ["not-due"])


class TestCleartextAndCertificates(RestTestCase):
    def tearDown(self):
        self.assertEqual(wait_for_job_threads(), [])

    def test_http_is_flagged_on_the_sync_page_and_in_test_connection(self):
        create_remote(self.portal, {"name": "plain", "url": self.source_url})
        create_remote(self.portal, {"name": "tls", "url": "https://lab1.example.org/Plone"})
        transaction.commit()
        page = requests.get(f"{self.server}/plone/@@sync", auth=OWNER, timeout=30).text
        self.assertIn('id="cleartext-plain"', page)
        self.assertNotIn('id="cleartext-tls"', page)
        tested = self.call("POST", "/plain/@test-connection").json()
        self.assertEqual((tested["code"], tested["warning"]), ("ok", validation.CLEARTEXT))

    def test_a_vanished_certificate_file_is_a_clear_error(self):
        handle, path = tempfile.mkstemp(suffix=".pem")
        os.close(handle)
        create_remote(self.portal, {"name": "lab1", "url": "https://localhost:9/Plone", "certificate_path": path})
        transaction.commit()
        os.unlink(path)
        tested = self.call("POST", "/lab1/@test-connection")
        self.assertEqual(tested.status_code, 200, tested.text)
        self.assertEqual(tested.json()["code"], "tls")
        self.assertIn(validation.UNREADABLE_CERTIFICATE, tested.json()["message"])

        started = self.call("POST", "/lab1/@fetch")
        self.assertEqual(started.status_code, 202, started.text)
        deadline = time.monotonic() + 30
        while (job := requests.get(started.json()["@id"], auth=OWNER, headers=JSON, timeout=30).json())["state"] in (
            "queued",
            "running",
        ):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.2)
        self.assertEqual(job["state"], "failed")
        self.assertEqual(
            job["message"], f"StepRefused: The Certificate Path {path}: {validation.UNREADABLE_CERTIFICATE}"
        )
