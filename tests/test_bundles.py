"""Offline bundles and push (docs/bundles.rst), between real sites.

A bundle of everything, then of the changes since, makes the receiver the same as the
sender (the independent comparator says so); importing one twice writes nothing; one out
of sequence, with an altered byte, altered and re-hashed, unsigned, or checked with
another key is refused and writes nothing. A site pushes through the receiver's
``@sync-bundle``, and the chain laptop → middleman → server works with a push, a file and
a pull at its hops.
"""

import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from unittest import mock

import requests
import transaction

from senaite_style_sync import cli
from senaite_style_sync.actions.remotes import edit_remote
from senaite_style_sync.jobs.bundles import ALREADY
from senaite_style_sync.jobs.bundles import BundleRefused
from senaite_style_sync.jobs.schedule import run_auto_sync
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.peer import wire
from senaite_style_sync.peer.bundle import sign
from senaite_style_sync.testing import wait_for_job_threads
from tests.test_topologies import TopologyTestCase
from tests.topology import OWNER
from tests.topology import build_small_corpus


KEY = "a secret both labs share"
PUSHER_PASSWORD = "the pusher's own password"


class BundleTestCase(TopologyTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.corpus = build_small_corpus(self.a.enter())
        # The laptop (a) writes bundles for the server (c), which reads them with the same key.
        self.a.add_remote("server", self.c, bundle_key=KEY)
        self.c.add_remote("laptop", self.a, bundle_key=KEY)

    def export(self, lab, name: str, since: str = "") -> str:
        """A copy of the bundle that lab's Remote exports (an import removes the file it applies)."""
        job = lab.pull(name, "export", since=since)
        self.assertTrue(os.path.isfile(job.bundle), job.message)
        copy = os.path.join(self.tmp, f"{job.id}.zip")
        shutil.copyfile(job.bundle, copy)
        return copy

    def import_file(self, lab, name: str, path: str):
        handed = os.path.join(self.tmp, f"handed-{os.path.basename(path)}")
        shutil.copyfile(path, handed)
        job = lab.pull(name, "bundle", bundle=handed)
        self.assertFalse(os.path.exists(handed), "the file applied is removed")
        self.assertEqual(list(job.errors), [])
        return job

    def refused(self, lab, name: str, path: str, reason: str) -> None:
        before = lab.serials()
        with self.assertRaises(BundleRefused) as refusal:
            self.import_file(lab, name, path)
        self.assertIn(reason, str(refusal.exception))
        self.assertEqual(lab.serials(), before, "a refused bundle writes nothing")

    def change_on_laptop(self) -> None:
        """An edit, a deletion, a reorder and a sharing change (the last two re-date nothing)."""
        self.a.edit(self.corpus["seite-1"].UID(), "Seite 1, edited in the field")
        self.a.delete(self.corpus["meldung-1"].UID())
        site = self.a.enter()
        site["medien"].moveObjectsToTop(["datei"])
        site["seiten"].manage_setLocalRoles("editor", ["Reviewer"])
        site["seiten"].reindexObjectSecurity()
        transaction.commit()


class TestBundleRoundTrip(BundleTestCase):
    def test_everything_then_the_changes_make_the_same_site_and_twice_writes_nothing(self):
        first = self.export(self.a, "server")
        job = self.import_file(self.c, "laptop", first)
        self.assertEqual(job.counts.get("created"), len(self.corpus), dict(job.counts))
        self.assertEqual(job.counts.get("requests"), 0, "nothing asked of the sender")
        self.assert_same(self.a, self.c, "after a bundle of everything")

        self.change_on_laptop()
        changes = self.export(self.a, "server")
        with zipfile.ZipFile(changes) as archive:
            self.assertNotIn("listing.jsonl", archive.namelist(), "changes only")
            objects = [name for name in archive.namelist() if name.startswith("objects/")]
        self.assertLessEqual(len(objects), 3, objects)
        job = self.import_file(self.c, "laptop", changes)
        deleted = self.corpus["meldung-1"].UID()
        # 1 of 6 copies is beyond the deletion limit (10 %): held until confirmed, without the sender.
        self.assertEqual([uid for uid, _path in job.pending_deletes], [deleted])
        confirmed = self.c.pull("laptop", "delete", confirms=job.id)
        self.assertEqual((confirmed.counts.get("deleted"), confirmed.counts.get("requests")), (1, 0))
        self.assert_same(self.a, self.c, "after a bundle of the changes")
        self.assertEqual(self.c.find(self.corpus["seiten"].UID()).get_local_roles_for_userid("editor"), ("Reviewer",))

        before = self.c.serials()
        again = self.import_file(self.c, "laptop", changes)
        self.assertEqual([warning["message"] for warning in again.warnings], [ALREADY])
        self.assertEqual(self.c.serials(), before)
        self.refused(self.c, "laptop", first, "applied the sender's changes up to")


class TestBundleRefusals(BundleTestCase):
    def test_a_bundle_out_of_sequence_is_refused_until_its_turn(self):
        first = self.export(self.a, "server")
        self.a.edit(self.corpus["seite-1"].UID(), "Zwei")
        second = self.export(self.a, "server")
        self.a.edit(self.corpus["seite-1"].UID(), "Drei")
        third = self.export(self.a, "server")
        self.refused(self.c, "laptop", second, "import a bundle of everything first")
        self.assertIsNone(self.c.find(self.corpus["seite-1"].UID()))
        self.import_file(self.c, "laptop", first)
        self.refused(self.c, "laptop", third, "import the bundles in the order they were written")
        self.import_file(self.c, "laptop", second)
        self.assertEqual(self.c.find(self.corpus["seite-1"].UID()).title, "Zwei")
        self.import_file(self.c, "laptop", third)
        self.assert_same(self.a, self.c, "in order at last")

    def test_an_export_keeps_the_latest_file_and_removes_what_an_interrupted_one_left(self):
        self.a.add_remote("server-2", self.c, bundle_key=KEY)  # a name that starts as the other
        other = self.a.pull("server-2", "export").bundle
        first = self.a.pull("server", "export").bundle
        left = os.path.join(os.path.dirname(first), "server.interrupted.zip")
        with open(left, "wb") as stream:
            stream.write(b"PK")  # an export killed while it wrote
        latest = self.a.pull("server", "export").bundle
        self.assertTrue(os.path.isfile(latest))
        self.assertFalse(os.path.exists(first), "the older export is removed")
        self.assertFalse(os.path.exists(left), "so is what the interrupted one left")
        self.assertTrue(os.path.isfile(other), "another Remote's export stays")

    def rewritten(self, path: str, change, signed: bool = False, compression=zipfile.ZIP_STORED) -> str:
        """A copy of the bundle with ``change(name, data) -> data`` applied to each member;
        unsigned, or ``signed`` with the right key (as a stolen laptop could sign it)."""
        target = os.path.join(self.tmp, f"altered-{len(os.listdir(self.tmp))}.zip")
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w", compression) as copy:
            for name in source.namelist():
                data = change(name, source.read(name))
                if data is not None:
                    copy.writestr(name, data)
            if signed:
                copy.comment = b"0" * wire.BUNDLE_SIGNATURE_BYTES
        if signed:
            sign(target, KEY.encode())
        return target

    def test_a_damaged_altered_or_unsigned_bundle_is_refused(self):
        bundle = self.export(self.a, "server")
        uid = self.corpus["seite-1"].UID()
        member = f"objects/{uid}.json"

        def evil_title(name, data):
            return data.replace(b"Seite 1", b"Evil 1") if name == member else data

        self.refused(self.c, "laptop", self.rewritten(bundle, evil_title), "signature does not match")
        # Signed with the key, but a member is not what the manifest of hashes says (a writer's bug).
        resigned = self.rewritten(bundle, evil_title, signed=True)
        self.refused(self.c, "laptop", resigned, "not what its manifest of hashes says")

        def rehashed(name, data):
            data = evil_title(name, data)
            if name == wire.BUNDLE_HASHES:  # an attacker without the key can hash, not sign
                with zipfile.ZipFile(bundle) as source:
                    evil = evil_title(member, source.read(member))
                    old = source.read(member)
                data = data.replace(hashlib.sha256(old).hexdigest().encode(), hashlib.sha256(evil).hexdigest().encode())
            return data

        self.refused(self.c, "laptop", self.rewritten(bundle, rehashed), "signature does not match")
        unsigned = self.rewritten(bundle, lambda name, data: data)  # the same members, no signature
        self.refused(self.c, "laptop", unsigned, "not signed")
        flipped = os.path.join(self.tmp, "flipped.zip")
        with open(bundle, "rb") as stream:
            raw = bytearray(stream.read())
        for position in range(len(raw) // 10, len(raw), len(raw) // 10):  # anywhere in the file
            raw[position] ^= 0x01
            with open(flipped, "wb") as stream:
                stream.write(raw)
            with self.assertRaises(BundleRefused):
                self.import_file(self.c, "laptop", flipped)
            raw[position] ^= 0x01
        self.assertIsNone(self.c.find(uid))
        # Signed with the key, but beyond what a bundle may be.
        same = self.rewritten(bundle, lambda name, data: data, signed=True)
        with mock.patch("senaite_style_sync.peer.bundle.MAX_MEMBERS", 5):
            self.refused(self.c, "laptop", same, "more than 5 members")
        with mock.patch("senaite_style_sync.peer.bundle.MAX_INFLATION", 0):
            self.refused(self.c, "laptop", same, "inflate to more than")
        with mock.patch("senaite_style_sync.peer.bundle.MAX_LINE_BYTES", 10):
            self.refused(self.c, "laptop", same, "a line longer than 10 bytes")
        bzipped = self.rewritten(bundle, lambda name, data: data, signed=True, compression=zipfile.ZIP_BZIP2)
        self.refused(self.c, "laptop", bzipped, "compressed in a way bundles are not")
        own = self.rewritten(bundle, lambda name, data: data, signed=True)
        self.a.enter()
        self.a.add_remote("laptop", self.c, bundle_key=KEY)  # its own bundle, fed back to it
        self.refused(self.a, "laptop", own, "written by this site itself")
        # The right bundle, but this Remote holds another key.
        self.c.enter()
        edit_remote(RemoteStorage(self.c.site).get("laptop"), {"bundle_key": "another key of sixteen"})
        transaction.commit()
        self.refused(self.c, "laptop", bundle, "signature does not match")


class TestPush(BundleTestCase):
    def setUp(self):
        super().setUp()
        # The laptop cannot be reached: it pushes to the middleman (b), to its Remote of the same
        # name, as a user there who may push bundles and do nothing else of the add-on's.
        self.b.enter().acl_users.userFolderAddUser("pusher", PUSHER_PASSWORD, ["Sync Sender"], [])
        transaction.commit()
        self.a.add_remote("laptop", self.b, bundle_key=KEY, push=True, username="pusher", password=PUSHER_PASSWORD)
        self.b.add_remote("laptop", self.a, bundle_key="another secret, b's own", max_delete_percent=0)
        self.b.add_remote("server", self.c, bundle_key="the middleman and the server")
        self.c.add_remote("middleman", self.b, bundle_key="the middleman and the server", max_delete_percent=0)

    def push(self):
        job = self.a.pull("laptop", "push")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(wait_for_job_threads(), [])
        transaction.begin()
        received = JobStore(self.b.site).history("laptop")[0]
        self.assertEqual((received.step, received.state, list(received.errors)), ("bundle", "done", []))
        return received

    def test_a_push_is_refused_without_the_receivers_key_and_then_applied(self):
        self.a.pull("laptop", "push")
        wait_for_job_threads()
        transaction.begin()
        received = JobStore(self.b.site).history("laptop")[0]
        self.assertEqual(received.state, "failed")
        self.assertIn("signature does not match", received.message)
        self.assertIsNone(self.b.find(self.corpus["seite-1"].UID()))
        self.b.enter()
        edit_remote(RemoteStorage(self.b.site).get("laptop"), {"bundle_key": KEY})
        transaction.commit()
        self.push()
        self.assert_same(self.a, self.b, "after a push")
        answer = requests.get(
            f"{self.b.url}/{wire.SYNC_BUNDLE}/laptop", auth=OWNER, headers={"Accept": "application/json"}, timeout=30
        )
        self.assertEqual(answer.status_code, 200, answer.text)
        self.assertGreater(answer.json()["seq"], 0)
        nothing = self.a.pull("laptop", "push")
        self.assertIn("nothing sent", nothing.message)
        pusher = ("pusher", PUSHER_PASSWORD)
        for path in ("@sync-remotes", "@sync-jobs", "@@sync"):  # nothing else of the add-on's
            answer = requests.get(
                f"{self.b.url}/{path}", auth=pusher, headers={"Accept": "application/json"}, timeout=30
            )
            self.assertIn(answer.status_code, (401, 403), path)

    def test_the_chain_laptop_middleman_server_by_push_file_and_pull(self):
        self.b.enter()
        edit_remote(RemoteStorage(self.b.site).get("laptop"), {"bundle_key": KEY})
        transaction.commit()
        self.push()  # laptop → middleman: a push
        bundle = self.export(self.b, "server")  # middleman → server: a file
        self.import_file(self.c, "middleman", bundle)
        self.assert_same(self.a, self.c, "laptop and server, after a push and a file")
        self.change_on_laptop()
        self.push()
        job = self.c.pull("middleman")  # middleman → server: a pull, from the feed
        self.assertEqual(list(job.errors), [])
        self.assertEqual(job.counts.get("deleted"), 1, dict(job.counts))
        self.assert_same(self.a, self.c, "laptop and server, after a second push and a pull")
        self.assertEqual(self.c.find(self.corpus["seite-1"].UID()).title, "Seite 1, edited in the field")


class TestPushEndpoint(BundleTestCase):
    def test_the_endpoint_checks_permission_name_and_size(self):
        url = f"{self.c.url}/{wire.SYNC_BUNDLE}/laptop"
        anonymous = requests.post(url, data=b"zip", headers={"Accept": "application/json"}, timeout=30)
        self.assertIn(anonymous.status_code, (401, 403))
        unknown = requests.post(
            f"{self.c.url}/{wire.SYNC_BUNDLE}/nobody",
            data=b"zip",
            auth=OWNER,
            headers={"Accept": "application/json"},
            timeout=30,
        )
        self.assertEqual(unknown.status_code, 404)
        self.c.add_remote("keyless", self.a)
        keyless = requests.post(
            f"{self.c.url}/{wire.SYNC_BUNDLE}/keyless",
            data=b"zip",
            auth=OWNER,
            headers={"Accept": "application/json"},
            timeout=30,
        )
        self.assertEqual(keyless.status_code, 409, keyless.text)
        garbage = requests.post(
            url, data=io.BytesIO(b"not a zip"), auth=OWNER, headers={"Accept": "application/json"}, timeout=30
        )
        self.assertEqual(garbage.status_code, 202, garbage.text)
        self.assertEqual(wait_for_job_threads(), [])
        transaction.begin()
        job = JobStore(self.c.site).history("laptop")[0]
        self.assertEqual(job.state, "failed")
        self.assertIn("signature does not match", job.message)
        self.assertFalse(os.path.exists(job.bundle), "the upload is removed")
        with mock.patch("senaite_style_sync.services.sync_bundle.service.max_bundle_bytes", return_value=100):
            large = requests.post(url, data=b"x" * 101, auth=OWNER, headers={"Accept": "application/json"}, timeout=30)
        self.assertEqual(large.status_code, 413, large.text)


class TestCommandLine(BundleTestCase):
    def test_export_and_import_from_the_command_line(self):
        app = self.layer["app"]
        output = os.path.join(self.tmp, "from-the-laptop.zip")
        transaction.commit()
        self.assertEqual(
            cli.main(app, ["export", "--site", "plone", "--remote", "server", "--all", "--output", output]), 0
        )
        self.assertTrue(zipfile.is_zipfile(output))
        self.assertEqual(cli.main(app, ["import", "--site", "third", "--remote", "laptop", output]), 0)
        self.assert_same(self.a, self.c, "after a bundle by the command line")
        self.assertEqual(cli.main(app, ["import", "--site", "third", "--remote", "nobody", output]), 2)
        # The changes after the number the receiver has applied up to (as a refusal names it).
        applied = str(self.c.remote("laptop").state.feed_checkpoint[1])
        self.a.edit(self.corpus["seite-1"].UID(), "Seite 1, by the command line")
        since = os.path.join(self.tmp, "since.zip")
        export = ["export", "--site", "plone", "--remote", "server", "--since", applied, "--output", since]
        self.assertEqual(cli.main(app, export), 0)
        self.assertEqual(cli.main(app, ["import", "--site", "third", "--remote", "laptop", since]), 0)
        transaction.begin()
        self.assertEqual(self.c.find(self.corpus["seite-1"].UID()).title, "Seite 1, by the command line")
        transaction.begin()
        jobs = JobStore(self.c.site).history("laptop")
        self.assertEqual((jobs[0].step, jobs[0].trigger, jobs[0].state), ("bundle", "cli", "done"))


class TestAutoSyncPushes(BundleTestCase):
    def test_auto_sync_of_a_push_remote_pushes(self):
        self.a.add_remote("laptop", self.b, bundle_key=KEY, push=True, auto_sync=True)
        self.b.add_remote("laptop", self.a, bundle_key=KEY)
        site = self.a.enter()
        decisions = run_auto_sync(site, "test")
        transaction.commit()
        self.assertEqual(wait_for_job_threads(), [])
        self.assertTrue(decisions[-1].detail.startswith("push job"), decisions)
        transaction.begin()
        received = JobStore(self.b.site).history("laptop")[0]
        self.assertEqual((received.step, received.trigger, received.state), ("bundle", "push", "done"))
        self.assertIsNotNone(self.b.find(self.corpus["seite-1"].UID()))
