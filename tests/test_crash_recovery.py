"""Jobs and locks: the heartbeat during long reads, recovery after a restart, conflicts, temporary files."""

import glob
import os
import tempfile
import threading
import time
from unittest import mock

import transaction
from plone import api
from plone.dexterity.content import ASSIGNABLE_CACHE_KEY
from z3c.relationfield import RelationValue
from ZODB.POSException import ConflictError
from zope.component import getGlobalSiteManager
from zope.component import getUtility
from zope.component.hooks import setSite
from zope.globalrequest import getRequest
from zope.interface import implementer
from zope.intid.interfaces import IIntIds
from zope.processlifetime import DatabaseOpenedWithRoot

from senaite_style_sync.actions.remotes import RemoteBusy
from senaite_style_sync.actions.remotes import delete_remote
from senaite_style_sync.config import bundle_dir
from senaite_style_sync.interfaces import IImporter
from senaite_style_sync.jobs import heartbeat
from senaite_style_sync.jobs import recovery
from senaite_style_sync.jobs import runner
from senaite_style_sync.jobs.process import instance_id
from senaite_style_sync.jobs.process import process_id
from senaite_style_sync.jobs.runner import JobRefused
from senaite_style_sync.jobs.runner import active_job
from senaite_style_sync.jobs.runner import run_job
from senaite_style_sync.jobs.runner import start_job
from senaite_style_sync.model import jobs as jobs_model
from senaite_style_sync.model.jobs import UNFINISHED
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.server.bundles.export import export_bundle
from senaite_style_sync.sync import chunks
from senaite_style_sync.sync import second_pass
from senaite_style_sync.sync.chunks import request_caches_per_transaction
from senaite_style_sync.sync.local import LocalSite
from senaite_style_sync.sync.second_pass import set_relations
from senaite_style_sync.testing import wait_for_job_threads
from tests.corpus import build_corpus
from tests.hostile_peer import HostilePeer
from tests.sync_helpers import SyncTestCase


def wait_until(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)
        transaction.begin()
    return value


@implementer(IImporter)
class ProbeImporter:
    """An importer registered for one test: runs ``action(site, remote, job, http)`` last."""

    order = 99

    def __init__(self, action):
        self.action = action

    def enabled(self, remote):
        return True

    def __call__(self, site, remote, job, http):
        self.action(site, remote, job, http)


class JobsTestCase(SyncTestCase):
    def tearDown(self):
        self.assertEqual(wait_for_job_threads(), [])

    def job(self, job_id):
        transaction.begin()
        return JobStore(self.portal).get(job_id)

    def importer(self, action):
        registry = getGlobalSiteManager()
        importer = ProbeImporter(action)
        registry.registerUtility(importer, IImporter, name="zz-probe")
        self.addCleanup(registry.unregisterUtility, importer, IImporter, name="zz-probe")

    def run_in_thread(self, remote, step="import"):
        """Start a job as the buttons do; returns its id once its thread has been started."""
        job = start_job(self.portal, remote, step, "test")
        transaction.commit()
        return job.id


class TestHeartbeat(JobsTestCase):
    def test_a_long_read_keeps_the_lock(self):
        with (
            mock.patch.object(jobs_model, "STALE_AFTER", 2),
            mock.patch.object(heartbeat, "BEAT_EVERY", 0.2),
            HostilePeer(hang_seconds=30) as peer,
        ):
            peer.set_case("hang-listing")
            peer.model.serves_sync_read = False  # a stock peer: its @search listing hangs
            remote = self.make_remote("slow", url=peer.url, username="", password="")
            job_id = self.run_in_thread(remote, "fetch")
            wait_until(lambda: peer.requests_to("listing"))
            time.sleep(3)  # longer than the lock's expiry, and no chunk has committed
            transaction.begin()
            remote = RemoteStorage(self.portal).get("slow")
            self.assertEqual(active_job(self.portal, remote).id, job_id)
            with self.assertRaises(JobRefused):
                start_job(self.portal, remote, "fetch", "test")
            with self.assertRaises(RemoteBusy):
                delete_remote(self.portal, "slow")
            transaction.abort()
        wait_until(lambda: self.job(job_id).state == "failed")  # the peer went away
        self.assertIsNone(active_job(self.portal, RemoteStorage(self.portal).get("slow")))


class TestEndings(JobsTestCase):
    def test_a_write_conflict_at_the_end_is_recorded_as_failed(self):
        db = self.portal._p_jar.db()

        def concurrent_write(committed):
            # Another client records a run of this remote between the job's last two commits.
            manager = transaction.TransactionManager()
            connection = db.open(transaction_manager=manager)
            site = connection.root()["Application"]["plone"]
            RemoteStorage(site).get("src").last_runs["other"] = {"time": None, "outcome": "ok", "count": 0}
            manager.commit()
            connection.close()

        self.importer(lambda site, remote, job, http: transaction.get().addAfterCommitHook(concurrent_write))
        job_id = self.run_in_thread(self.make_remote())
        job = wait_until(lambda: (job := self.job(job_id)).state not in ("queued", "running") and job)
        self.assertEqual(job.state, "failed")
        self.assertTrue(job.message.startswith("ConflictError"), job.message)
        self.assertIsNotNone(job.ended)

    def test_the_temporary_directory_goes_whatever_the_end(self):
        seen = []

        def download_then_die(site, remote, job, http):
            seen.append(http.tmpdir)
            with open(os.path.join(http.tmpdir, "sync-blob-x"), "wb") as stream:
                stream.write(b"half a download")
            raise RuntimeError("the job dies here")

        self.importer(download_then_die)
        self.make_remote()
        job = Job("src", "import", "test")
        JobStore(self.portal).add(job)
        transaction.commit()
        run_job(self.portal._p_jar.db(), "/plone", job.id)
        self.assertEqual(self.job(job.id).message, "RuntimeError: the job dies here")
        self.assertTrue(seen[0].startswith(os.path.join(tempfile.gettempdir(), f"sync-job-{job.id}-")))
        self.assertEqual(glob.glob(os.path.join(tempfile.gettempdir(), f"sync-job-{job.id}-*")), [])

    def test_a_job_of_a_deleted_remote_fails_clearly(self):
        job = Job("ghost", "fetch", "test")
        JobStore(self.portal).add(job)
        transaction.commit()
        run_job(self.portal._p_jar.db(), "/plone", job.id)
        self.assertEqual(self.job(job.id).message, "StepRefused: The remote 'ghost' was deleted.")

    def test_deleting_conflicts_with_a_job_starting_meanwhile(self):
        remote = self.make_remote()
        start_job(self.portal, remote, "fetch", "test")  # not committed yet
        manager = transaction.TransactionManager()
        connection = self.portal._p_jar.db().open(transaction_manager=manager)
        try:
            setSite(connection.root()["Application"]["plone"])
            delete_remote(connection.root()["Application"]["plone"], "src")
            manager.commit()
        finally:
            connection.close()
            self.on_portal()
        with self.assertRaises(ConflictError):
            transaction.commit()
        transaction.abort()
        self.assertIsNone(RemoteStorage(self.portal).get("src"))
        self.assertEqual([job.remote for job in JobStore(self.portal).unfinished()], [])


class TestJobConnection(JobsTestCase):
    def test_a_job_runs_on_the_connection_its_request_gives_back(self):
        """The job waits for its request's connection: the warmest free one, which ZODB hands out."""
        self.make_remote()
        db = self.portal._p_jar.db()
        opened = []
        real_open = db.open

        def recording_open(*args, **kwargs):
            connection = real_open(*args, **kwargs)
            if threading.current_thread().name.startswith("sync-"):
                opened.append(connection)
            return connection

        requests = db.open()  # as a request's: started the job, closed after its commit
        site = requests.root()["Application"]["plone"]
        for brain in site.portal_catalog.unrestrictedSearchResults():
            brain._unrestrictedGetObject()  # as a request's that showed the site: warm
        warmest = max((free._cache.cache_non_ghost_count for _, free in db.pool.available), default=0)
        self.assertGreater(requests._cache.cache_non_ghost_count, warmest)  # else ZODB hands out another
        with mock.patch.object(db, "open", recording_open), mock.patch.object(runner, "CLOSE_WAIT", 10.0):
            job = start_job(site, RemoteStorage(site).get("src"), "fetch", "test")
            transaction.commit()
            time.sleep(0.3)  # the request ends a moment after its commit
            self.assertEqual(opened, [])
            requests.close()
            wait_until(lambda: opened)
        self.assertIs(opened[0], requests)
        wait_until(lambda: self.job(job.id).state not in UNFINISHED)
        self.assertEqual(self.job(job.id).state, "done")


class TestRecovery(JobsTestCase):
    def orphan(self, remote, instance=None, step="import"):
        """An Import (or ``step``) this instance (or another) was running when its process died:
        fresh heartbeat."""
        job = Job(remote.name, step, "button")
        job.state = "running"
        job.instance = instance or instance_id()
        job.process = "host:4711:before-the-restart"
        JobStore(self.portal).add(job)
        remote.active_job = job.id
        transaction.commit()
        return job.id

    def restart(self, config=None):
        """What the instance does when its database opens at start-up."""
        with mock.patch.object(recovery, "product_config", return_value=config or {}):
            recovery.recover_jobs(DatabaseOpenedWithRoot(self.portal._p_jar.db()))
        transaction.begin()

    def test_own_jobs_are_interrupted_at_once_and_resumed(self):
        self.on_source()
        uids = [obj.UID() for obj in build_corpus(self.source, 3)]
        transaction.commit()
        remote = self.make_remote()
        self.run_step("fetch")
        old_id = self.orphan(remote)
        self.assertEqual(active_job(self.portal, remote).id, old_id)  # its heartbeat still holds the lock
        self.restart()
        old = self.job(old_id)
        self.assertEqual(old.state, "interrupted")
        new = self.job(RemoteStorage(self.portal).get("src").active_job)
        self.assertEqual(
            (new.step, new.trigger, new.instance, new.process), ("import", "resume", instance_id(), process_id())
        )
        self.assertEqual(old.message, f"Interrupted: the instance that ran it stopped. Resumed as job {new.id}.")
        wait_until(lambda: self.job(new.id).state == "done")
        self.assertEqual([uid for uid in uids if self.find(self.portal, uid) is None], [])

    def test_an_interrupted_import_from_file_resumes_with_its_file(self):
        self.on_source()
        uids = [obj.UID() for obj in build_corpus(self.source, 3)]
        transaction.commit()
        key = "a key the two sites share"
        bundle = os.path.join(bundle_dir(), "interrupted.zip")
        os.makedirs(bundle_dir(), exist_ok=True)
        with api.env.adopt_roles(["Manager"]):  # as the export job's system user
            export_bundle(self.source, self.layer["request"], bundle, key.encode())
        transaction.commit()
        remote = self.make_remote(bundle_key=key)
        old_id = self.orphan(remote, step="bundle")
        self.job(old_id).bundle = bundle
        transaction.commit()
        self.restart()
        new = self.job(RemoteStorage(self.portal).get("src").active_job)
        self.assertEqual((new.step, new.bundle), ("bundle", bundle))
        wait_until(lambda: self.job(new.id).state == "done")
        self.assertEqual([uid for uid in uids if self.find(self.portal, uid) is None], [])
        self.assertFalse(os.path.exists(bundle), "removed once applied")

    def test_auto_resume_off_only_interrupts(self):
        old_id = self.orphan(self.make_remote())
        self.restart({"auto-resume": "off"})
        self.assertEqual(self.job(old_id).state, "interrupted")
        remote = RemoteStorage(self.portal).get("src")
        self.assertEqual(remote.active_job, old_id)
        self.assertIsNotNone(start_job(self.portal, remote, "fetch", "test"))  # free at once
        transaction.abort()

    def test_a_job_of_another_instance_keeps_its_lock_until_its_heartbeat_expires(self):
        old_id = self.orphan(self.make_remote(), instance="client2.example:/srv/client2")
        self.restart()
        self.assertEqual(self.job(old_id).state, "running")
        remote = RemoteStorage(self.portal).get("src")
        with self.assertRaises(JobRefused):
            start_job(self.portal, remote, "fetch", "test")
        with mock.patch.object(jobs_model, "STALE_AFTER", 0):
            self.assertIsNone(active_job(self.portal, remote))


class Killed(BaseException):
    """The instance stopping mid-run: no handler of the engine catches it."""


class TestSecondPassCheckpoints(SyncTestCase):
    def test_the_second_pass_keeps_each_committed_chunk(self):
        self.on_source()
        intids = getUtility(IIntIds)
        with api.env.adopt_roles(["Manager"]):
            pages = [
                api.content.create(self.source, "Document", id=f"page-{number}", title=f"Page {number}")
                for number in range(5)
            ]
            # After the pages: their relations wait for the second pass.
            target = api.content.create(self.source, "Document", id="target", title="Target")
            for page in pages:
                page.relatedItems = [RelationValue(intids.getId(target))]
        transaction.commit()
        self.make_remote()
        self.run_step("fetch")
        calls = []

        def killed_at_the_third(applier, uid):
            calls.append(uid)
            if len(calls) == 3:
                raise Killed()
            return set_relations(applier, uid)

        # Chunks of 2: the first two relations are committed before the third is reached.
        with (
            mock.patch.object(chunks, "COMMIT_EVERY", 2),
            mock.patch.object(second_pass, "set_relations", killed_at_the_third),
        ):
            with self.assertRaises(Killed):
                self.run_step("import")
        transaction.abort()
        pending = RemoteStorage(self.portal).get("src").state.pending_relations
        self.assertEqual([uid in pending for uid in calls], [False, False, True])
        self.assertEqual(len(pending), 3)
        related = [
            page for page in self.portal.objectValues() if page.getId().startswith("page-") and page.relatedItems
        ]
        self.assertEqual(len(related), 2)
        # Run again: the rest is done, the two done ones are not redone.
        calls.clear()
        job = self.run_step("import")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(len(RemoteStorage(self.portal).get("src").state.pending_relations), 0)
        for number in range(5):
            page = self.portal[f"page-{number}"]
            self.assertEqual([item.to_object for item in page.relatedItems], [self.portal["target"]])


class TestRequestCachesPerTransaction(SyncTestCase):
    def test_caches_on_the_job_request_are_dropped_at_each_commit(self):
        """A job keeps one request: what the catalog and plone.dexterity cache on it for each
        object must not pile up for the whole run (its memory would grow with the objects)."""
        self.on_source()
        with api.env.adopt_roles(["Manager"]):
            for number in range(6):
                api.content.create(self.source, "Document", id=f"page-{number}", title=f"Page {number}")
        transaction.commit()
        self.make_remote()
        self.run_step("fetch")
        catalog = self.portal.portal_catalog
        cached, assignables = [], []
        original = chunks.Guard.__call__

        def measured(guard, *args):
            request = getRequest()
            caches = request.other.get("__catalog_cache__") or {}
            cached.append(sum(len(cache) for cache in caches.values()))
            assignables.append(len(getattr(request, ASSIGNABLE_CACHE_KEY, {})))
            # A lookup of its own for each object, as the writer's lookups of local copies are.
            catalog.unrestrictedSearchResults(UID=f"not-here-{len(cached)}")
            return original(guard, *args)

        with mock.patch.object(chunks, "COMMIT_EVERY", 2), mock.patch.object(chunks.Guard, "__call__", measured):
            job = self.run_step("import")
        self.assertEqual(job.counts.get("created"), 6)
        # The lookups were cached on the request, and a commit dropped them: a later object
        # finds the cache empty again (without the drop it holds every earlier lookup).
        self.assertGreater(max(cached), 0, cached)
        self.assertIn(0, cached[1:], cached)
        # The same for the behavior assignables, one per object written (each holds its object).
        self.assertGreater(max(assignables), 0, assignables)
        self.assertIn(0, assignables[1:], assignables)

    def cached(self):
        caches = self.portal.REQUEST.other.get("__catalog_cache__") or {}
        return sum(len(cache) for cache in caches.values())

    def test_an_abort_and_a_rollback_drop_them_too(self):
        """An abort or a rollback rewinds the catalog's counter, part of the cache's keys: what the
        undone work cached could answer the same query after it."""
        catalog = self.portal.portal_catalog
        with request_caches_per_transaction():
            catalog.unrestrictedSearchResults(UID="not-here-1")
            self.assertGreater(self.cached(), 0)
            transaction.abort()
            self.assertEqual(self.cached(), 0)

            def failing():
                catalog.unrestrictedSearchResults(UID="not-here-2")
                raise ValueError("this object cannot be written")

            job = Job("src", "import", "test")
            chunks.Guard(job, careful=True)("page", "write", failing)
            self.assertEqual([error["step"] for error in job.errors], ["write"])
            self.assertEqual(self.cached(), 0)
        catalog.unrestrictedSearchResults(UID="not-here-3")
        transaction.abort()  # outside a step, Plone's own caching is left as it is
        self.assertGreater(self.cached(), 0)

    def test_lookups_of_local_copies_cache_nothing(self):
        """A Fetch looks up each object's local copy and commits only at its end: the UID index
        as the catalog's Indexes give it (unwrapped) finds no request to cache on."""
        with api.env.adopt_roles(["Manager"]):
            uid = api.content.create(self.portal, "Document", id="page", title="Page").UID()
        transaction.commit()
        self.assertEqual(LocalSite(self.portal).by_uid(uid).getId(), "page")
        self.assertEqual(self.cached(), 0)
        self.portal.portal_catalog.unrestrictedSearchResults(UID=uid)
        self.assertGreater(self.cached(), 0)  # a search through the catalog would
