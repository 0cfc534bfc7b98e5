"""The peer is untrusted input: what it says cannot take over local objects, store a damaged
file, or make this site request anything but the peer. (The hostile peer's catalogue of
crafted answers is in test_hostile_sync; these cases use a real Plone peer.)"""

import hashlib
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import transaction
from plone import api
from plone.namedfile.file import NamedBlobFile

from senaite_style_sync.model.storage import RemoteStorage
from tests.servers import fault_proxy
from tests.sync_helpers import SyncTestCase


class Canary(BaseHTTPRequestHandler):
    """Records every request that reaches it: the sync must never make one."""

    seen: list[str] = []

    def do_GET(self):
        self.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class TestNoTakeover(SyncTestCase):
    """An object here with the UID the peer lists, that this remote never synced, is not its to overwrite."""

    def setUp(self):
        super().setUp()
        self.on_source()
        with api.env.adopt_roles(["Manager"]):
            self.original = api.content.create(self.source, "Document", id="doc", title="The peer's")
        transaction.commit()
        self.uid = self.original.UID()
        self.on_portal()
        with api.env.adopt_roles(["Manager"]):
            folder = api.content.create(self.portal, "Folder", id="mine", title="Mine")
            self.local = api.content.create(
                folder, "Document", id="local", title="Mine alone", **{"_plone.uuid": self.uid}
            )
        transaction.commit()
        self.serial = self.local._p_serial

    def test_a_local_object_with_the_peers_uid_becomes_a_conflict_not_a_copy(self):
        self.make_remote(readonly_types=["Document"])
        self.run_step("fetch")
        job = self.run_step("import")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(job.counts.get("conflicts"), 1)
        transaction.begin()
        local = self.find(self.portal, self.uid)
        self.assertEqual((local.title, local.aq_parent.getId(), local._p_serial), ("Mine alone", "mine", self.serial))
        state = RemoteStorage(self.portal).get("src").state
        self.assertIn("not synced from this peer", state.conflicts[self.uid].reason)
        self.assertNotIn(self.uid, state.synced)

        # The peer deletes it: the local object is not this remote's to delete.
        self.on_source()
        with api.env.adopt_roles(["Manager"]):
            api.content.delete(obj=self.original)
        transaction.commit()
        self.run_step("update")
        transaction.begin()
        self.assertIsNotNone(self.find(self.portal, self.uid))

    def test_keep_local_leaves_it_alone_and_take_remote_makes_it_the_copy(self):
        from senaite_style_sync.sync.conflicts import keep_local
        from senaite_style_sync.sync.writer import Applier

        remote = self.make_remote()
        self.run_step("fetch")
        self.run_step("import")
        self.on_portal()
        remote = RemoteStorage(self.portal).get("src")
        keep_local(Applier(self.portal, remote, self.portal.REQUEST, self.source_url), self.uid)
        transaction.commit()
        job = self.run_step("update")
        self.assertEqual(job.counts.get("conflicts", 0), 0)
        transaction.begin()
        self.assertEqual(self.find(self.portal, self.uid)._p_serial, self.serial)

        remote = RemoteStorage(self.portal).get("src")
        remote.state.resolutions[self.uid] = "remote"
        transaction.commit()
        job = self.run_step("update")
        self.assertEqual(job.counts.get("updated"), 1, dict(job.counts))
        transaction.begin()
        copy = self.find(self.portal, self.uid)
        self.assertEqual((copy.title, copy.aq_parent.getId()), ("The peer's", "plone"))


class TestDamagedAnswers(SyncTestCase):
    def setUp(self):
        super().setUp()
        self.on_source()
        data = bytes(range(256)) * 400
        with api.env.adopt_roles(["Manager"]):
            self.file = api.content.create(self.source, "File", id="data", title="Data")
            self.file.file = NamedBlobFile(data, filename="data.bin", contentType="application/octet-stream")
        transaction.commit()
        self.sha256 = hashlib.sha256(data).hexdigest()

    def sync_through(self, faults: dict[str, str]):
        with fault_proxy(self.layer["host"], self.layer["port"], faults) as proxy:
            self.source_url = f"{proxy}/source"
            self.make_remote()
            self.run_step("fetch")
            return self.run_step("import")

    def test_a_truncated_download_is_never_stored(self):
        job = self.sync_through({"@@download/file": "halve"})
        self.assertEqual([error["object"] for error in job.errors], ["data"])
        self.assertIn("bytes the peer stated", job.errors[0]["message"])
        transaction.begin()
        self.assertIsNone(self.find(self.portal, self.file.UID()))
        self.on_portal()
        RemoteStorage(self.portal).get("src").url = f"http://{self.layer['host']}:{self.layer['port']}/source"
        job = self.run_step("update")  # straight from the peer: the whole file arrives
        self.assertEqual(list(job.errors), [])
        transaction.begin()
        copy = self.find(self.portal, self.file.UID())
        self.assertEqual(hashlib.sha256(copy.file.data).hexdigest(), self.sha256)

    def test_a_redirect_is_not_followed(self):
        Canary.seen = []
        canary = ThreadingHTTPServer(("127.0.0.1", 0), Canary)
        threading.Thread(target=canary.serve_forever, daemon=True).start()
        try:
            where = f"http://127.0.0.1:{canary.server_address[1]}/secret"
            job = self.sync_through({"@@download/file": f"redirect:{where}"})
        finally:
            canary.shutdown()
            canary.server_close()
        self.assertEqual(Canary.seen, [])
        self.assertEqual([error["object"] for error in job.errors], ["data"])
        self.assertIn("redirected", job.errors[0]["message"])
