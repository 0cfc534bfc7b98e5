"""Update-only round trip, resuming an interrupted import, and a peer that fails for some objects."""

from unittest import mock

import transaction
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD

from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.jobs.steps import run_step
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.sync.writer import Applier
from tests.corpus import build_corpus
from tests.sync_helpers import SyncTestCase


class TestUpdateOnlyRoundTrip(SyncTestCase):
    def test_objects_that_originated_here_come_back_and_nothing_else(self):
        portal = self.on_portal()
        with api.env.adopt_roles(["Manager"]):
            mine = api.content.create(portal, "Document", id="here-protocol", title="Protocol v1")
            theirs = api.content.create(portal, "Document", id="notes", title="Notes")
        transaction.commit()
        # The peer pulls everything from this site (the peer runs the add-on too).
        source = self.on_source()
        plone_url = f"http://{self.layer['host']}:{self.layer['port']}/plone"
        create_remote(
            source, {"name": "central", "url": plone_url, "username": SITE_OWNER_NAME, "password": SITE_OWNER_PASSWORD}
        )
        transaction.commit()
        for step in ("fetch", "import"):
            job = Job("central", step, "test")
            JobStore(source).add(job)
            run_step(source, RemoteStorage(source).get("central"), job)
            transaction.commit()
        # ... edits them there and adds its own.
        self.assertEqual(self.find(source, mine.UID()).title, "Protocol v1")
        with api.env.adopt_roles(["Manager"]):
            peer_copy = self.find(source, mine.UID())
            peer_copy.title = "Protocol v2 (edited at the lab)"
            peer_copy.setModificationDate(peer_copy.modified() + 1)
            peer_copy.reindexObject()
            self.find(source, theirs.UID()).title = "Notes edited at the lab"
            lab_page = api.content.create(source, "Document", id="lab-page", title="Lab page")
        transaction.commit()
        # This site takes back only Documents that originated here.
        self.make_remote(update_only_types=["Document"], local_prefix="here")
        self.run_step("fetch")
        job = self.run_step("import")
        self.assertEqual(list(job.errors), [])
        self.on_portal()
        transaction.begin()
        self.assertEqual(self.find(self.portal, mine.UID()).title, "Protocol v2 (edited at the lab)")
        self.assertEqual(self.find(self.portal, mine.UID()).absolute_url_path(), "/plone/here-protocol")
        self.assertEqual(self.find(self.portal, theirs.UID()).title, "Notes")
        self.assertIsNone(self.find(self.portal, lab_page.UID()))
        self.assertEqual(job.counts.get("created", 0), 0)


class Killed(BaseException):
    """Stands for the instance being killed mid-job (not an Exception: nothing catches it)."""


class TestResume(SyncTestCase):
    def test_interrupted_import_resumes_to_the_same_result(self):
        self.on_source()
        originals = build_corpus(self.source, 60)
        transaction.commit()
        self.make_remote()
        self.run_step("fetch")
        real_write = Applier.write
        calls = []

        def dying_write(applier, uid, fetched, **kwargs):
            calls.append(uid)
            if len(calls) == 37:
                raise Killed()
            return real_write(applier, uid, fetched, **kwargs)

        with mock.patch.object(Applier, "write", dying_write):
            with self.assertRaises(Killed):
                self.run_step("import")
        transaction.abort()
        self.on_portal()
        survived = len(RemoteStorage(self.portal).get("src").state.synced)
        self.assertTrue(0 < survived < 60, survived)  # whole batches committed before the kill

        job = self.run_step("import")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(job.counts.get("created"), 60 - survived)
        self.on_portal()
        for original in originals:
            copies = self.portal.portal_catalog.unrestrictedSearchResults(UID=original.UID())
            self.assertEqual(len(copies), 1)
            self.assertEqual(copies[0].getPath().replace("/plone/", "/source/"), "/".join(original.getPhysicalPath()))
        expected = {"/".join(o.getPhysicalPath()).replace("/source/", "/plone/") for o in originals} | {"/plone"}
        catalog = self.portal.portal_catalog
        paths = {
            b.getPath() for b in catalog.unrestrictedSearchResults(path="/plone") if b.getPath().startswith("/plone")
        }
        self.assertEqual(paths, expected)


class TestFaultyPeer(SyncTestCase):
    def test_objects_the_peer_fails_on_are_recorded_and_the_rest_synced(self):
        from senaite_style_sync.peer import http
        from tests.servers import fault_proxy

        self.on_source()
        originals = build_corpus(self.source, 30)
        transaction.commit()
        broken = {originals[5].UID(): "500", originals[12].UID(): "garbage", originals[20].UID(): "timeout"}
        faults = dict(broken)
        with mock.patch.object(http, "TIMEOUT", 1.0), mock.patch.object(http, "BACKOFF", 0.01):
            with fault_proxy(self.layer["host"], self.layer["port"], faults) as proxy:
                self.source_url = f"{proxy}/source"
                self.make_remote()
                self.run_step("fetch")
                job = self.run_step("import")
                failed = {error["object"] for error in job.errors}
                # the three objects (read errors) and whatever they contain (no parent to write into)
                expected = {self.relative(o) for o in originals if self.under_broken(o, originals, broken)}
                self.assertEqual(failed, expected, list(job.errors))
                self.assertEqual(
                    {
                        e["step"]
                        for e in job.errors
                        if e["object"] in map(self.relative, [originals[i] for i in (5, 12, 20)])
                    },
                    {"read"},
                )
                self.assertEqual(job.counts.get("created"), 30 - len(expected))
                self.on_portal()
                self.assertIsNone(self.find(self.portal, originals[12].UID()))
                healthy = [o for o in originals if not self.under_broken(o, originals, broken)]
                self.assertTrue(all(self.find(self.portal, o.UID()) for o in healthy))
                # The peer recovers: a rerun brings the missing objects, and nothing twice.
                faults.clear()
                again = self.run_step("import")
                self.assertEqual(list(again.errors), [])
        self.on_portal()
        for original in originals:
            self.assertIsNotNone(self.find(self.portal, original.UID()), original.absolute_url_path())

    @staticmethod
    def relative(obj):
        return "/".join(obj.getPhysicalPath()[2:])

    def under_broken(self, obj, originals, broken):
        path = self.relative(obj)
        return any(
            path == self.relative(o) or path.startswith(self.relative(o) + "/") for o in originals if o.UID() in broken
        )
