"""@sync-remotes over real HTTP: CRUD, validation, write-only password, permissions, test connection."""

import unittest
from unittest import mock

import requests
import transaction
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD

from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.model import validation
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.testing import EDITOR_NAME
from senaite_style_sync.testing import EDITOR_PASSWORD
from senaite_style_sync.testing import SITE_ADMIN_NAME
from senaite_style_sync.testing import SITE_ADMIN_PASSWORD
from senaite_style_sync.testing import SOURCE_SITE_ID
from senaite_style_sync.testing import SYNC_FUNCTIONAL_TESTING
from tests.servers import closed_port


PASSWORD = "Rest-Secret-0815"


class RestTestCase(unittest.TestCase):
    layer = SYNC_FUNCTIONAL_TESTING

    def setUp(self):
        self.portal = self.layer["portal"]
        self.server = f"http://{self.layer['host']}:{self.layer['port']}"
        self.endpoint = f"{self.server}/plone/@sync-remotes"
        self.source_url = f"{self.server}/{SOURCE_SITE_ID}"

    def call(self, method, path="", auth=(SITE_OWNER_NAME, SITE_OWNER_PASSWORD), **kwargs):
        response = requests.request(
            method, self.endpoint + path, auth=auth, headers={"Accept": "application/json"}, timeout=30, **kwargs
        )
        transaction.begin()  # see what the server committed
        return response

    def stored(self, name):
        return RemoteStorage(self.portal).get(name)


class TestCrud(RestTestCase):
    def test_create_read_list_edit_delete(self):
        body = {
            "name": "lab1",
            "url": self.source_url,
            "username": SITE_OWNER_NAME,
            "password": PASSWORD,
            "remote_prefix": "lab1",
            "prefixable_types": ["Document"],
            "auto_sync": True,
            "auto_sync_interval": 30,
        }
        created = self.call("POST", json=body)
        self.assertEqual(created.status_code, 201, created.text)
        self.assertEqual(created.headers["Location"], f"{self.endpoint}/lab1")
        self.assertNotIn(PASSWORD, created.text)
        self.assertNotIn("password", created.json())
        self.assertTrue(created.json()["has_password"])
        self.assertEqual(self.stored("lab1").password(), PASSWORD)

        listed = self.call("GET").json()
        self.assertEqual(listed["items_total"], 1)
        self.assertEqual(listed["items"][0]["name"], "lab1")
        one = self.call("GET", "/lab1").json()
        self.assertEqual(one["prefixable_types"], ["Document"])
        self.assertEqual(one["auto_sync_interval"], 30)
        self.assertNotIn(PASSWORD, self.call("GET").text)

        patched = self.call("PATCH", "/lab1", json={"local_prefix": "here", "update_only_types": ["News Item"]})
        self.assertEqual(patched.status_code, 204, patched.text)
        remote = self.stored("lab1")
        self.assertEqual(remote.update_only_types, ["News Item"])
        self.assertEqual(remote.password(), PASSWORD)  # kept without retyping

        self.assertEqual(self.call("PATCH", "/lab1", json={"password": "changed"}).status_code, 204)
        self.assertEqual(self.stored("lab1").password(), "changed")

        # The bundle key: write-only as the password, at least 16 characters.
        short = self.call("PATCH", "/lab1", json={"bundle_key": "too short"})
        self.assertEqual(short.status_code, 400, short.text)
        self.assertIn("at least 16 characters", short.json()["error"]["errors"]["bundle_key"])
        self.assertFalse(self.stored("lab1").has_bundle_key)
        key = "a bundle key both labs share"
        self.assertEqual(self.call("PATCH", "/lab1", json={"bundle_key": key, "push": True}).status_code, 204)
        shown = self.call("GET", "/lab1")
        self.assertNotIn(key, shown.text)
        self.assertEqual((shown.json()["has_bundle_key"], shown.json()["push"]), (True, True))
        self.assertEqual(self.stored("lab1").bundle_key(), key.encode())

        deleted = self.call("DELETE", "/lab1")
        self.assertEqual(deleted.status_code, 204)
        self.assertIsNone(self.stored("lab1"))
        self.assertEqual(self.call("GET", "/lab1").status_code, 404)

    def test_validation_errors_answer_400_and_store_nothing(self):
        create_remote(self.portal, {"name": "lab1", "url": "https://lab1.example.org"})
        transaction.commit()
        cases = [
            ({"name": "lab1", "url": "https://x.example.org"}, "name", validation.DUPLICATE_NAME),
            ({"name": "lab2", "url": "file:///etc/passwd"}, "url", validation.BAD_URL),
            (
                {"name": "lab2", "url": "https://x.example.org", "prefixable_types": ["Document"]},
                "remote_prefix",
                validation.TYPES_WITHOUT_PREFIX,
            ),
            (
                {"name": "lab2", "url": "https://x.example.org", "remote_prefix": "p"},
                "prefixable_types",
                validation.PREFIX_WITHOUT_TYPES,
            ),
            (
                {"name": "lab2", "url": "https://x.example.org", "update_only_types": ["Document"]},
                "local_prefix",
                validation.UPDATE_ONLY_WITHOUT_LOCAL_PREFIX,
            ),
            (
                {"name": "lab2", "url": "https://x.example.org", "certificate_path": "/no/such/ca.pem"},
                "certificate_path",
                validation.UNREADABLE_CERTIFICATE,
            ),
            (
                {"name": "lab2", "url": "https://x.example.org", "auto_sync": "yes"},
                "auto_sync",
                "Expected true or false.",
            ),
            ({"name": "lab2", "url": "https://x.example.org", "color": "red"}, "color", "Unknown field."),
            ({"name": "lab2", "url": 42}, "url", "Expected a string."),
            (
                {"name": "lab2", "url": "https://x.example.org", "skipped_types": "Document"},
                "skipped_types",
                "Expected a list of strings.",
            ),
        ]
        for body, field, message in cases:
            with self.subTest(body=body):
                response = self.call("POST", json=body)
                self.assertEqual(response.status_code, 400, response.text)
                self.assertEqual(response.json()["error"]["errors"][field], message)
        self.assertEqual([r.name for r in RemoteStorage(self.portal)], ["lab1"])

    def test_bad_json_and_bad_patch(self):
        create_remote(self.portal, {"name": "lab1", "url": "https://lab1.example.org"})
        transaction.commit()
        response = self.call("POST", data="{not json")
        self.assertEqual(response.status_code, 400)
        self.assertIn("body", response.json()["error"]["errors"])
        response = self.call("POST", json=["lab2"])
        self.assertEqual(response.status_code, 400)
        response = self.call("PATCH", "/lab1", json={"name": "renamed", "url": "https://new.example.org"})
        self.assertEqual(response.status_code, 400)
        self.assertIn("name", response.json()["error"]["errors"])
        response = self.call("PATCH", "/lab1", json={"url": "nope"})
        self.assertEqual(response.json()["error"]["errors"]["url"], validation.BAD_URL)
        self.assertEqual(self.stored("lab1").url, "https://lab1.example.org")
        self.assertEqual(self.call("PATCH", "/missing", json={"url": "https://x.org"}).status_code, 404)


class TestBusyRemote(RestTestCase):
    def test_a_remote_with_a_running_job_is_not_deleted(self):
        from senaite_style_sync.model.jobs import Job
        from senaite_style_sync.model.jobs import JobStore

        remote = create_remote(self.portal, {"name": "lab1", "url": "https://lab1.example.org"})
        job = Job("lab1", "import", "test")
        job.state = "running"
        JobStore(self.portal).add(job)
        remote.active_job = job.id
        transaction.commit()
        answer = self.call("DELETE", "/lab1")
        self.assertEqual(answer.status_code, 409, answer.text)
        self.assertIn("is running", answer.json()["error"]["message"])
        self.assertIsNotNone(self.stored("lab1"))
        JobStore(self.portal).get(job.id).state = "done"
        transaction.commit()
        self.assertEqual(self.call("DELETE", "/lab1").status_code, 204)
        self.assertIsNone(self.stored("lab1"))


class TestPermissions(RestTestCase):
    def test_anonymous_and_editor_refused(self):
        create_remote(self.portal, {"name": "lab1", "url": "https://lab1.example.org"})
        transaction.commit()
        for auth in (None, (EDITOR_NAME, EDITOR_PASSWORD)):
            with self.subTest(auth=auth):
                self.assertEqual(self.call("GET", auth=auth).status_code, 401)
                self.assertEqual(self.call("GET", "/lab1", auth=auth).status_code, 401)
                response = self.call("POST", auth=auth, json={"name": "lab2", "url": "https://x.example.org"})
                self.assertEqual(response.status_code, 401)
                self.assertEqual(self.call("PATCH", "/lab1", auth=auth, json={"url": "https://y.org"}).status_code, 401)
                self.assertEqual(self.call("DELETE", "/lab1", auth=auth).status_code, 401)
                self.assertEqual(self.call("POST", "/lab1/@test-connection", auth=auth).status_code, 401)
        self.assertEqual([r.name for r in RemoteStorage(self.portal)], ["lab1"])
        self.assertEqual(self.stored("lab1").url, "https://lab1.example.org")

    def test_site_administrator_allowed(self):
        response = self.call(
            "POST", auth=(SITE_ADMIN_NAME, SITE_ADMIN_PASSWORD), json={"name": "lab2", "url": "https://x.example.org"}
        )
        self.assertEqual(response.status_code, 201, response.text)


class TestConnectionService(RestTestCase):
    def test_connection_outcomes(self):
        create_remote(
            self.portal,
            {"name": "good", "url": self.source_url, "username": SITE_OWNER_NAME, "password": SITE_OWNER_PASSWORD},
        )
        create_remote(
            self.portal, {"name": "badpass", "url": self.source_url, "username": SITE_OWNER_NAME, "password": "nope"}
        )
        create_remote(
            self.portal,
            {"name": "down", "url": f"http://localhost:{closed_port()}/Plone", "username": "x", "password": "y"},
        )
        transaction.commit()
        for name, code in (("good", "ok"), ("badpass", "credentials"), ("down", "unreachable")):
            with self.subTest(name=name):
                response = self.call("POST", f"/{name}/@test-connection")
                self.assertEqual(response.status_code, 200, response.text)
                self.assertEqual(response.json()["code"], code, response.json()["message"])
                self.assertEqual(response.json()["ok"], code == "ok")


class TestSyncRead(RestTestCase):
    """@sync-read, served to syncing sites: many objects with history and local roles at once."""

    def read(self, uids, auth=(SITE_OWNER_NAME, SITE_OWNER_PASSWORD)):
        return requests.get(
            f"{self.server}/plone/@sync-read",
            params=[("UID", uid) for uid in uids],
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=30,
        )

    def test_objects_with_history_and_local_roles(self):
        from plone import api

        folder = api.content.create(self.portal, "Folder", id="lab", title="Lab")
        page = api.content.create(folder, "Document", id="page", title="Page")
        api.content.transition(page, "publish")
        folder.manage_setLocalRoles(EDITOR_NAME, ["Reader", "Owner"])
        folder.__ac_local_roles_block__ = True
        transaction.commit()
        answer = self.read([folder.UID(), page.UID(), "0" * 32])
        self.assertEqual(answer.status_code, 200, answer.text)
        items = {item["UID"]: item for item in answer.json()["items"]}
        self.assertEqual(set(items), {folder.UID(), page.UID()})  # an unknown UID is left out
        self.assertEqual(items[page.UID()]["title"], "Page")
        self.assertEqual(
            [entry["review_state"] for entry in items[page.UID()]["@components"]["workflow"]["history"]],
            ["private", "published"],
        )
        sharing = items[folder.UID()]["@sharing"]
        self.assertFalse(sharing["inherit"])
        self.assertIn({"id": "Reader"}, sharing["available_roles"])
        # Owner is not a role the sharing page manages: only Reader is reported.
        self.assertIn({"id": EDITOR_NAME, "roles": {"Reader": True}}, sharing["entries"])

    def test_rich_text_served_as_stored_and_rendered_elsewhere(self):
        from plone import api
        from plone.app.textfield.value import RichTextValue
        from plone.restapi.interfaces import ISerializeToJson
        from zope.component import getMultiAdapter

        from senaite_style_sync.sync.served import served

        target = api.content.create(self.portal, "Document", id="target", title="Target")
        raw = f'<p><a href="resolveuid/{target.UID()}">Target</a></p>'
        page = api.content.create(self.portal, "Document", id="linking", title="Linking")
        page.text = RichTextValue(raw, "text/html", "text/x-html-safe")
        transaction.commit()
        answer = self.read([page.UID()])
        self.assertEqual(answer.status_code, 200, answer.text)
        text = answer.json()["items"][0]["text"]
        self.assertEqual(text, {"data": raw, "content-type": "text/html", "encoding": "utf-8"})
        rendered = requests.get(
            page.absolute_url(),
            auth=(SITE_OWNER_NAME, SITE_OWNER_PASSWORD),
            headers={"Accept": "application/json"},
            timeout=30,
        ).json()["text"]
        self.assertEqual(rendered["data"], f'<p><a href="{target.absolute_url()}">Target</a></p>')
        # Serving as stored marks the request only while it serves: what is served next is rendered.
        request = self.layer["request"]
        with mock.patch.object(RichTextValue, "output_relative_to", side_effect=AssertionError("rendered")):
            self.assertEqual(served(page, request)["text"]["data"], raw)  # not rendered to be thrown away
        again = getMultiAdapter((page, request), ISerializeToJson)(include_items=False)
        self.assertNotIn("resolveuid", again["text"]["data"])
        self.assertIn('/plone/target">Target</a>', again["text"]["data"])

    def test_only_for_managers_and_bounded(self):
        # Others sync through plain plone.restapi: the client falls back when refused here.
        self.assertEqual(self.read([], auth=(SITE_ADMIN_NAME, SITE_ADMIN_PASSWORD)).status_code, 401)
        self.assertEqual(self.read([], auth=(EDITOR_NAME, EDITOR_PASSWORD)).status_code, 401)
        self.assertEqual(self.read([], auth=None).status_code, 401)
        self.assertEqual(self.read([]).json(), {"items": []})
        too_many = self.read([f"{number:032x}" for number in range(101)])
        self.assertEqual(too_many.status_code, 400)
        self.assertIn("at most 100", too_many.text)
