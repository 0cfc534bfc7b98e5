"""Sync jobs and conflicts over real HTTP: start steps, follow jobs, settle conflicts, permissions."""

import time

import requests
import transaction
from DateTime import DateTime
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD

from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.state import Conflict
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.testing import EDITOR_NAME
from senaite_style_sync.testing import EDITOR_PASSWORD
from senaite_style_sync.testing import wait_for_job_threads
from tests.corpus import build_corpus
from tests.sync_helpers import SyncTestCase


OWNER = (SITE_OWNER_NAME, SITE_OWNER_PASSWORD)
JOB_TIMEOUT = 60
CORPUS_SIZE = 10


def relative(site, obj) -> str:
    return "/".join(obj.getPhysicalPath()[len(site.getPhysicalPath()) :])


def find(site, uid):
    """The object with ``uid`` inside ``site`` (unrestricted: the test thread is anonymous), or None."""
    site_path = "/".join(site.getPhysicalPath()) + "/"
    brains = [b for b in site.portal_catalog.unrestrictedSearchResults(UID=uid) if b.getPath().startswith(site_path)]
    return brains[0]._unrestrictedGetObject() if brains else None


class JobsRestTestCase(SyncTestCase):
    def setUp(self):
        super().setUp()
        self.plone_url = f"http://{self.layer['host']}:{self.layer['port']}/plone"

    def tearDown(self):
        self.assertEqual(wait_for_job_threads(), [])

    def call(self, method, path, auth=OWNER, **kwargs):
        response = requests.request(
            method, self.plone_url + path, auth=auth, headers={"Accept": "application/json"}, timeout=30, **kwargs
        )
        transaction.begin()  # see what the server committed
        return response

    def remote(self, name="src"):
        transaction.begin()
        return RemoteStorage(self.portal).get(name)

    def start(self, step, name="src", **body):
        response = self.call("POST", f"/@sync-remotes/{name}/@{step}", json=body or None)
        self.assertEqual(response.status_code, 202, response.text)
        data = response.json()
        self.assertEqual(data["@id"], f"{self.plone_url}/@sync-jobs/{data['id']}")
        self.assertEqual(response.headers["Location"], data["@id"])
        self.assertIn(data["state"], ("queued", "running"))
        return data

    def wait(self, job_id, timeout=JOB_TIMEOUT):
        """Poll GET @sync-jobs/<id> as a client would, until the job has ended; returns its JSON."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.call("GET", f"/@sync-jobs/{job_id}")
            self.assertEqual(response.status_code, 200, response.text)
            data = response.json()
            if data["state"] not in ("queued", "running"):
                self.assertEqual(data["state"], "done", data)
                return data
            if time.monotonic() > deadline:
                self.fail(f"job {job_id} not done after {timeout} s: {data}")
            time.sleep(0.2)

    def run_by_rest(self, step, name="src", **body):
        return self.wait(self.start(step, name, **body)["id"])

    def corpus(self, n=CORPUS_SIZE):
        self.on_source()
        objects = build_corpus(self.source, n)
        info = [(obj.UID(), relative(self.source, obj), obj.portal_type) for obj in objects]
        transaction.commit()
        return info


class TestStartAndFollow(JobsRestTestCase):
    def test_fetch_then_import(self):
        originals = self.corpus()
        self.make_remote()

        fetched = self.run_by_rest("fetch")
        self.assertEqual((fetched["remote"], fetched["step"], fetched["trigger"]), ("src", "fetch", "rest"))
        self.assertEqual(fetched["errors"], [])
        self.assertEqual(fetched["plan"]["create"], CORPUS_SIZE)
        self.assertEqual(fetched["progress"]["total"], CORPUS_SIZE)
        self.assertEqual(fetched["progress"]["percent"], 100)
        self.assertIsNotNone(fetched["ended"])
        self.assertEqual(self.remote().last_plan["create"], CORPUS_SIZE)
        self.assertEqual([uid for uid, _path, _type in originals if find(self.portal, uid)], [])

        imported = self.run_by_rest("import")
        self.assertEqual(imported["errors"], [])
        self.assertEqual(imported["counts"]["created"], CORPUS_SIZE)
        self.assertEqual(imported["progress"]["percent"], 100)
        self.assertEqual(self.remote().last_runs["import"]["outcome"], "ok")
        transaction.begin()
        for uid, path, portal_type in originals:
            with self.subTest(path=path):
                copy = find(self.portal, uid)
                self.assertIsNotNone(copy)
                self.assertEqual(relative(self.portal, copy), path)
                self.assertEqual(copy.portal_type, portal_type)

        again = self.run_by_rest("update")
        self.assertEqual(again["counts"].get("created", 0), 0)
        self.assertEqual(again["counts"].get("updated", 0), 0)

    def test_verify_then_repair(self):
        originals = self.corpus()
        self.make_remote()
        self.run_by_rest("fetch")
        self.run_by_rest("import")
        verified = self.run_by_rest("verify")
        self.assertEqual((verified["step"], verified["differences"], verified["errors"]), ("verify", [], []))
        self.assertEqual(verified["progress"]["total"], CORPUS_SIZE)

        uid, path, _type = [item for item in originals if item[2] == "Document"][-1]
        self.on_portal()
        find(self.portal, uid).title = "Changed here"
        transaction.commit()
        verified = self.run_by_rest("verify")
        self.assertEqual(
            [(d["uid"], d["object"], d["category"]) for d in verified["differences"]], [(uid, path, "fields")]
        )
        page = requests.get(f"{self.plone_url}/@@sync-run", params={"job": verified["id"]}, auth=OWNER, timeout=30)
        self.assertIn('id="repair"', page.text)
        self.assertIn("Changed here", page.text)

        response = self.call("POST", f"/@sync-jobs/{verified['id']}/@repair")
        self.assertEqual(response.status_code, 202, response.text)
        repaired = self.wait(response.json()["id"])
        self.assertEqual((repaired["step"], repaired["counts"].get("updated")), ("repair", 1))
        self.assertEqual(self.call("POST", f"/@sync-jobs/{verified['id']}/@repair").status_code, 409)
        self.assertEqual(self.run_by_rest("verify")["differences"], [])
        transaction.begin()
        self.assertEqual(find(self.portal, uid).title, find(self.source, uid).title)

    def test_second_start_while_a_job_runs_is_refused(self):
        self.corpus()
        self.make_remote()
        self.run_by_rest("fetch")
        first = self.start("import")
        for step in ("import", "fetch", "update"):
            with self.subTest(step=step):
                refused = self.call("POST", f"/@sync-remotes/src/@{step}")
                self.assertEqual(refused.status_code, 409, refused.text)
                error = refused.json()["error"]
                self.assertEqual(error["type"], "Conflict")
                self.assertIn("still running", error["message"])
                self.assertEqual(error["job"], first["@id"])
        self.assertEqual(self.remote().active_job, first["id"])  # no second job was recorded
        self.assertEqual(self.wait(first["id"])["counts"]["created"], CORPUS_SIZE)
        # Once the job has ended the remote takes new jobs again.
        self.assertNotEqual(self.run_by_rest("fetch")["id"], first["id"])

    def test_update_since(self):
        self.corpus()
        self.make_remote()
        self.run_by_rest("fetch")
        self.run_by_rest("import")
        # A moment before every object's modification date: all are read again, none changed.
        job = self.run_by_rest("update", since="2000-01-01T00:00")
        self.assertEqual(job["since"], "2000-01-01T00:00:00+00:00")
        self.assertEqual(JobStore(self.portal).get(job["id"]).since, "2000-01-01T00:00:00+00:00")
        self.assertEqual(job["plan"]["update"] + job["plan"].get("recheck", 0), CORPUS_SIZE, job)
        self.assertEqual(job["errors"], [])
        # A time zone is converted to UTC.
        job = self.run_by_rest("update", since="2026-11-20T12:00:00+02:00")
        self.assertEqual(job["since"], "2026-11-20T10:00:00+00:00")

    def test_bad_requests(self):
        self.make_remote()
        cases = [
            ("/@sync-remotes/src/@update", {"since": "yesterday"}, "since"),
            ("/@sync-remotes/src/@update", {"since": "2026-13-01T00:00"}, "since"),
            ("/@sync-remotes/src/@update", {"since": "2026-11-20", "extra": 1}, "extra"),
            ("/@sync-remotes/src/@fetch", {"since": "2026-11-20"}, "since"),
        ]
        for path, body, field in cases:
            with self.subTest(body=body):
                response = self.call("POST", path, json=body)
                self.assertEqual(response.status_code, 400, response.text)
                self.assertIn(field, response.json()["error"]["errors"])
        response = self.call("POST", "/@sync-remotes/src/@import", data="{not json")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.remote().active_job, "")  # nothing started

    def test_unknown_remote_job_and_conflict(self):
        self.make_remote()
        for method, path in (
            ("POST", "/@sync-remotes/nope/@fetch"),
            ("POST", "/@sync-remotes/nope/@import"),
            ("POST", "/@sync-remotes/nope/@update"),
            ("GET", "/@sync-remotes/nope/@conflicts"),
            ("GET", "/@sync-remotes/src/@conflicts/no-such-uid"),
            ("POST", "/@sync-remotes/src/@conflicts/no-such-uid"),
            ("POST", "/@sync-remotes/src/@rebuild"),
            ("GET", "/@sync-jobs/no-such-job"),
        ):
            with self.subTest(method=method, path=path):
                response = self.call(method, path, json={"take": "local"} if "@conflicts/" in path else None)
                self.assertEqual(response.status_code, 404, response.text)
        self.assertEqual(self.remote().active_job, "")


class TestPermissions(JobsRestTestCase):
    def test_anonymous_and_editor_refused(self):
        remote = self.make_remote()
        job = Job("src", "fetch", "test")
        job.state = "done"
        JobStore(self.portal).add(job)
        remote.active_job = job.id
        remote.state.conflicts["uid-1"] = Conflict(
            "uid-1", "folder-0/page", "changed here and on the peer", "{}", "{}", "2026-11-20T10:00:00"
        )
        transaction.commit()
        requests_ = [
            ("POST", "/@sync-remotes/src/@fetch", None),
            ("POST", "/@sync-remotes/src/@import", None),
            ("POST", "/@sync-remotes/src/@update", {"since": "2026-11-20T10:00"}),
            ("GET", "/@sync-remotes/src/@conflicts", None),
            ("GET", "/@sync-remotes/src/@conflicts/uid-1", None),
            ("POST", "/@sync-remotes/src/@conflicts/uid-1", {"take": "local"}),
            ("POST", "/@sync-remotes/src/@conflicts/uid-1", {"take": "remote"}),
            ("GET", f"/@sync-jobs/{job.id}", None),
        ]
        for auth in (None, (EDITOR_NAME, EDITOR_PASSWORD)):
            for method, path, body in requests_:
                with self.subTest(auth=auth, method=method, path=path):
                    response = self.call(method, path, auth=auth, json=body)
                    self.assertEqual(response.status_code, 401, response.text)
                    self.assertNotIn("folder-0/page", response.text)
        remote = self.remote()
        self.assertEqual(remote.active_job, job.id)
        self.assertIn("uid-1", remote.state.conflicts)
        self.assertNotIn("uid-1", remote.state.resolutions)
        # The owner sees them.
        self.assertEqual(self.call("GET", f"/@sync-jobs/{job.id}").json()["id"], job.id)
        self.assertEqual(self.call("GET", "/@sync-remotes/src/@conflicts").json()["items_total"], 1)


class TestConflicts(JobsRestTestCase):
    def edit_both_sides(self, uid, peer_title, local_title):
        """The same object changed on the peer, then here (with a newer modification date)."""
        self.on_source()
        original = find(self.source, uid)
        original.title = peer_title
        original.reindexObject()  # bumps the modification date
        original.setModificationDate(DateTime() + 60 / 86400)
        original.reindexObject(idxs=["modified"])
        transaction.commit()
        self.on_portal()
        copy = find(self.portal, uid)
        copy.title = local_title
        copy.setModificationDate(DateTime() + 120 / 86400)
        copy.reindexObject(idxs=["Title", "modified"])
        transaction.commit()

    def conflicts(self):
        response = self.call("GET", "/@sync-remotes/src/@conflicts")
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def local_title(self, uid):
        transaction.begin()
        return find(self.portal, uid).title

    def test_list_then_keep_local_then_take_remote(self):
        originals = self.corpus()
        # The last page: the first one has a relation, and serializing a relation in a job
        # thread fails for now (its request has no PARENTS; see the report on the engine).
        uid, path = [(uid, path) for uid, path, portal_type in originals if portal_type == "Document"][-1]
        self.make_remote()
        self.run_by_rest("fetch")
        self.run_by_rest("import")
        self.assertEqual(self.conflicts()["items"], [])

        self.edit_both_sides(uid, "Peer title", "Local title")
        job = self.run_by_rest("update")
        self.assertEqual(job["counts"].get("conflicts"), 1, job)
        listed = self.conflicts()
        self.assertEqual(listed["items_total"], 1)
        conflict = listed["items"][0]
        self.assertEqual(conflict["@id"], f"{self.plone_url}/@sync-remotes/src/@conflicts/{uid}")
        self.assertEqual((conflict["remote_uid"], conflict["path"]), (uid, path))
        self.assertTrue(conflict["reason"])
        self.assertTrue(conflict["detected"])
        self.assertEqual(conflict["remote_version"]["title"], "Peer title")
        self.assertEqual(conflict["local_version"]["title"], "Local title")
        # The job thread builds URLs as the request that started it saw the site, not http://nohost.
        self.assertEqual(conflict["local_version"]["@id"], f"{self.plone_url}/{path}")
        self.assertEqual(self.call("GET", f"/@sync-remotes/src/@conflicts/{uid}").json()["path"], path)

        for body in ({}, {"take": "both"}, {"take": "local", "also": 1}):
            with self.subTest(body=body):
                response = self.call("POST", f"/@sync-remotes/src/@conflicts/{uid}", json=body)
                self.assertEqual(response.status_code, 400, response.text)
        self.assertEqual(self.conflicts()["items_total"], 1)

        kept = self.call("POST", f"/@sync-remotes/src/@conflicts/{uid}", json={"take": "local"})
        self.assertEqual(kept.status_code, 200, kept.text)
        self.assertEqual((kept.json()["take"], kept.json()["job"]), ("local", None))
        self.assertEqual(self.conflicts()["items"], [])
        self.assertEqual(self.local_title(uid), "Local title")
        # Settled: the next Get Updates leaves the local version alone and finds no conflict.
        job = self.run_by_rest("update")
        self.assertEqual(job["counts"].get("conflicts", 0), 0, job)
        self.assertEqual(self.conflicts()["items"], [])
        self.assertEqual(self.local_title(uid), "Local title")

        self.edit_both_sides(uid, "Peer title 2", "Local title 2")
        self.assertEqual(self.run_by_rest("update")["counts"].get("conflicts"), 1)
        taken = self.call("POST", f"/@sync-remotes/src/@conflicts/{uid}", json={"take": "remote"})
        self.assertEqual(taken.status_code, 202, taken.text)
        self.assertEqual(taken.json()["take"], "remote")
        self.assertEqual(self.remote().state.resolutions.get(uid), "remote")
        job = self.wait(taken.json()["job"]["id"])
        self.assertEqual(job["step"], "import")
        self.assertEqual(job["counts"].get("updated"), 1, job)
        self.assertEqual(self.local_title(uid), "Peer title 2")
        self.assertEqual(self.conflicts()["items"], [])
        self.assertNotIn(uid, self.remote().state.resolutions)

    def test_deleted_on_the_peer_take_remote_or_keep_local(self):
        originals = self.corpus()
        leaves = {
            portal_type: (uid, path) for uid, path, portal_type in originals if portal_type in ("Document", "News Item")
        }
        (page_uid, page_path), (news_uid, _news_path) = leaves["Document"], leaves["News Item"]
        self.make_remote()
        self.run_by_rest("fetch")
        self.run_by_rest("import")
        # Deleted on the peer, edited here.
        self.on_source()
        with api.env.adopt_roles(["Manager"]):
            for uid in (page_uid, news_uid):
                api.content.delete(find(self.source, uid), check_linkintegrity=False)
        transaction.commit()
        self.on_portal()
        for uid in (page_uid, news_uid):
            copy = find(self.portal, uid)
            copy.title = "Edited here"
            copy.setModificationDate(DateTime() + 120 / 86400)
            copy.reindexObject(idxs=["Title", "modified"])
        transaction.commit()

        job = self.run_by_rest("update")
        self.assertEqual(job["counts"].get("conflicts"), 2, job)
        listed = {item["remote_uid"]: item for item in self.conflicts()["items"]}
        self.assertEqual(set(listed), {page_uid, news_uid})
        self.assertIsNone(listed[page_uid]["remote_version"])
        self.assertEqual(listed[page_uid]["local_version"]["title"], "Edited here")
        self.assertEqual(listed[page_uid]["path"], page_path)

        taken = self.call("POST", f"/@sync-remotes/src/@conflicts/{page_uid}", json={"take": "remote"})
        self.assertEqual(taken.status_code, 200, taken.text)
        self.assertIsNone(taken.json()["job"])
        self.assertIsNone(find(self.portal, page_uid))  # deleted, as on the peer
        kept = self.call("POST", f"/@sync-remotes/src/@conflicts/{news_uid}", json={"take": "local"})
        self.assertEqual(kept.status_code, 200, kept.text)
        self.assertEqual(find(self.portal, news_uid).title, "Edited here")
        self.assertEqual(self.conflicts()["items"], [])

        job = self.run_by_rest("update")
        self.assertEqual((job["counts"].get("conflicts", 0), job["errors"]), (0, []), job)
        self.assertEqual(self.conflicts()["items"], [])
        self.assertEqual(find(self.portal, news_uid).title, "Edited here")  # stays, no longer synced
        self.assertIsNone(find(self.portal, page_uid))
        self.assertEqual(self.call("GET", f"/@sync-remotes/src/@conflicts/{news_uid}").status_code, 404)
