"""``make bench``: how fast Fetch + Import and Get Updates are, measured over real HTTP.

Run by ``bin/test --tests-pattern '^benchmarks$' --test-file-pattern '^bench' -t bench``
(never by ``make test``: the default ``^tests$`` pattern does not look in this package).
``BENCH_OBJECTS`` (default 1000) sets the corpus size; ``BENCH_MEMORY=0`` skips the two
extra memory runs; ``BENCH_LARGE`` sizes (h) and (f); ``BENCH_AGE_MINUTES`` (default 60) dates the corpus back before the sync
(0: keep it fresh, inside the engine's recheck window). The run prints a table and rewrites
``docs/benchmarks.rst``.

One run. The peer is a process of its own (benchmarks/peer.py: the tests' layer, its WSGI
server, the corpus on ``source`` and, for the memory runs, N/2 objects on ``sourcehalf``), as
a peer is in a deployment; this process syncs into the layer's ``plone`` site and holds a copy
of the same corpus on its own ``source`` for (b) and (c):

(a) Fetch + Import of the peer's ``source`` into the empty ``plone`` site;
(a') the same from the peer as a stock plone.restapi site (@search and @sharing, no @sync-read);
(b) plone.exportimport: export the local ``source`` to a directory, import it into a new site;
(c) a plain ``api.content.create`` loop writing the same objects into another new site;
(d) 10 edits, 2 moves, 2 deletions on the peer (over its REST API), then Get Updates;
(e) Get Updates again with nothing changed: it must write no content object;
memory: tracemalloc peak of Fetch + Import for N and for N/2 objects, in sites of their own;
(h) Fetch + Import between two instances as deployed (processes of their own on FileStorage),
    of 1,000 and of ``BENCH_LARGE`` objects (default 10,000; 0 skips it), with memory;
(f) Get Updates after the changes of (d) on those peers (benchmarks/deployment.py), twice
    from the change feed, then once through the stock listing.

Correctness fails the test: every object copied (same path and title as on the peer), no
engine errors or conflicts, Get Updates counts that follow the peer's listing, no writes in
(e). The speed targets, and the literal "10 updated, 2 moved, 2 deleted", are reported, not
asserted (speed depends on the machine; for the counts see docs/benchmarks.rst).
"""

import os
import platform
import re
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime
from pathlib import Path
from unittest import mock

import transaction
from AccessControl.SecurityManagement import newSecurityManager
from AccessControl.SecurityManagement import noSecurityManager
from AccessControl.User import UnrestrictedUser
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from plone.app.textfield.value import RichTextValue
from plone.namedfile.file import NamedBlobFile
from plone.namedfile.file import NamedBlobImage
from Products.CMFPlone.factory import addPloneSite
from tests.corpus import build_corpus
from tests.sync_helpers import SyncTestCase
from zope.component.hooks import setSite
from zope.globalrequest import setRequest

from benchmarks.deployment import deployed_run
from benchmarks.served import ROOT
from benchmarks.served import ServedProcess
from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.jobs.runner import run_job
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.peer import readers
from senaite_style_sync.peer.http import PeerHTTP
from senaite_style_sync.sync.chunks import COMMIT_EVERY


DOC = ROOT / "docs" / "benchmarks.rst"
PEER_READY = "PEER-READY "
BASE_PROFILES = ["plone.app.contenttypes:default", "plone.restapi:default"]
ADDON_PROFILES = BASE_PROFILES + ["senaite_style_sync:default"]
EDITS, MOVES, DELETES = 10, 2, 2
BUNDLE_KEY = "the benchmark's bundle key"
# (a) and (a') at least this many times as fast as (b).
TARGET_SPEEDUP = 5.0
TARGET_STOCK_SPEEDUP = 3.0
# (h): objects/s at BENCH_LARGE objects at least this share of objects/s at DEPLOYED_SMALL.
DEPLOYED_SMALL = 1000
TARGET_SCALING = 0.8
# (f) with the feed: at most this many requests, and this many times the time at DEPLOYED_SMALL.
TARGET_F_REQUESTS = 20
TARGET_F_GROWTH = 1.5
# The ZODB cache of the test layer's database is ZODB's default, 400 objects per connection;
# the instance that buildout writes (parts/instance/etc/zope.conf) has cache-size 30000.
CACHE_SIZE = 30000
MEMORY_CACHE_SIZE = 2000
# The in-memory storage's index of its records: its maps of oids, serials and transactions,
# with the oids and serials it made (by ZODB.utils, called from the storage).
STORAGE_INDEX = ("*/ZODB/MappingStorage.py", "*/ZODB/DemoStorage.py")
# All ZODB keeps: those, the records, and the caches' unpickled states and ghosts.
ZODB_MODULES = ("*/ZODB/*",)
STORAGE_FRAMES = 2
EXPORTIMPORT_ZCML = """
<configure xmlns="http://namespaces.zope.org/zope">
  <include package="plone.exportimport.serializers" />
  <include package="plone.exportimport.deserializers" />
  <include package="plone.exportimport.exporters" />
  <include package="plone.exportimport.importers" />
</configure>
"""


def relative(site, obj) -> str:
    return "/".join(obj.getPhysicalPath()[len(site.getPhysicalPath()) :])


def content_objects(site) -> dict[str, object]:
    """path -> object for every content object the site's own catalog lists inside it (unrestricted).

    The site root is left out, and so are stray entries outside the site: the layer creates
    ``source`` while ``plone`` is the current site, so ``plone``'s catalog also lists ``/source``.
    """
    catalog = site.portal_catalog
    prefix = "/".join(site.getPhysicalPath()) + "/"
    found = {}
    for brain in catalog.unrestrictedSearchResults(path=prefix.rstrip("/")):
        if brain.getPath().startswith(prefix):
            found[brain.getPath()] = brain._unrestrictedGetObject()
    return found


def listed(site) -> dict[str, tuple[str, str]]:
    """UID -> (path in the site, title) for the site's content."""
    prefix = "/".join(site.getPhysicalPath()) + "/"
    result = {}
    for brain in site.portal_catalog.unrestrictedSearchResults(path=prefix.rstrip("/")):
        path = brain.getPath()
        if path.startswith(prefix):
            result[brain.UID] = (path[len(prefix) :], brain._unrestrictedGetObject().title)
    return result


def stored_bytes(storage) -> int:
    """Bytes of the object records held by the test layer's in-memory storage (DemoStorage over
    MappingStorage), each a bytes object: in a deployment they go to a file or database, not
    the process's memory."""
    if hasattr(storage, "changes"):  # DemoStorage
        return stored_bytes(storage.base) + stored_bytes(storage.changes)
    data = getattr(storage, "_data", None)  # MappingStorage: {oid: {tid: record}}
    if isinstance(data, dict):
        return sum(sys.getsizeof(record) for revisions in data.values() for record in revisions.values())
    return 0


def traced_in(snapshot: tracemalloc.Snapshot, patterns: tuple[str, ...]) -> int:
    """Traced bytes still held that were allocated in a frame of these files, or one call
    below (STORAGE_FRAMES)."""
    filters = [tracemalloc.Filter(True, pattern, all_frames=True) for pattern in patterns]
    return sum(trace.size for trace in snapshot.filter_traces(filters).traces)


def snapshot(site) -> dict[str, tuple[bytes, str]]:
    """path -> (_p_serial, modified) of every content object, as last committed."""
    result = {}
    for path, obj in content_objects(site).items():
        obj._p_activate()  # a ghost's serial is only known once it is loaded
        result[path] = (obj._p_serial, obj.modified().ISO8601())
    return result


def machine() -> dict[str, str]:
    uname = os.uname()
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as stream:
            for line in stream:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = "unknown"
    try:
        with open("/proc/meminfo") as stream:
            for line in stream:
                if line.startswith("MemTotal:"):
                    ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    return {
        "Machine": f"{uname.sysname} {uname.release} {uname.machine}",
        "CPU": cpu,
        "Cores": str(os.cpu_count()),
        "RAM": ram,
        "Python": platform.python_version(),
        "Date": datetime.now().strftime("%Y-%m-%d %H:%M"),
    }


def kinds_text(kinds: dict[str, int]) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items(), key=lambda item: -item[1])) or "none"


def load_average() -> str:
    try:
        with open("/proc/loadavg") as stream:
            return " ".join(stream.read().split()[:3])
    except OSError:
        return "unknown"


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class PeerProcess(ServedProcess):
    """The peer's sites, served by benchmarks.peer in a process of its own; read and changed over HTTP."""

    def __init__(self, n: int, half: int, age_minutes: int) -> None:
        super().__init__("benchmarks.peer", [n, half, age_minutes], PEER_READY)
        self.base = ""

    def wait_ready(self) -> None:
        info = self.ready()
        self.base = f"http://{info['host']}:{info['port']}"

    def url(self, site_id: str, path: str = "") -> str:
        return f"{self.base}/{site_id}/{path}" if path else f"{self.base}/{site_id}"

    def listing(self, site_id: str) -> dict[str, tuple[str, str, str]]:
        """UID -> (path in the site, modified, title) of the site's content, from its catalog."""
        prefix = self.url(site_id) + "/"
        params = [("b_size", 1000)] + [("metadata_fields", name) for name in ("UID", "modified", "Title")]
        page = self.http.get(f"{self.url(site_id)}/@search", params=params, timeout=60).json()
        result = {}
        while True:
            for item in page["items"]:
                if item["@id"].startswith(prefix):
                    result[item["UID"]] = (item["@id"][len(prefix) :], item["modified"], item["Title"])
            if not (page.get("batching") or {}).get("next"):
                return result
            page = self.http.get(page["batching"]["next"], timeout=60).json()

    def change(self, method: str, url: str, body: dict | None = None) -> None:
        response = self.http.request(method, url, json=body, timeout=60)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {url} answered {response.status_code}: {response.text[:200]}")


class BenchSync(SyncTestCase):
    def setUp(self):
        super().setUp()
        # Every phase runs as the sync job does: an unrestricted system user with Manager.
        user = UnrestrictedUser("bench", "", ["Manager"], [])
        newSecurityManager(None, user.__of__(self.app.acl_users))
        self.db = self.app._p_jar.db()
        self.layer_cache_size = self.db.getCacheSize()
        self.db.setCacheSize(CACHE_SIZE)  # every connection of the pool, this one included
        self.n = int(os.environ.get("BENCH_OBJECTS", "1000"))
        self.memory = os.environ.get("BENCH_MEMORY", "1") != "0"
        self.age_minutes = int(os.environ.get("BENCH_AGE_MINUTES", "60"))
        self.large = int(os.environ.get("BENCH_LARGE", "10000"))
        self.results: dict = {}
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.peer: PeerProcess | None = None

    def tearDown(self):
        if self.peer is not None:
            self.peer.stop()
        self.db.setCacheSize(self.layer_cache_size)
        noSecurityManager()
        setSite(None)

    # -- helpers -----------------------------------------------------------------------

    @staticmethod
    def progress(message: str) -> None:
        print(f"[bench {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)

    def check(self, ok: bool, problem: str) -> bool:
        if not ok:
            self.problems.append(problem)
        return ok

    def new_site(self, site_id: str, profiles=BASE_PROFILES):
        addPloneSite(self.app, site_id, extension_ids=list(profiles))
        transaction.commit()
        site = self.app[site_id]
        setSite(site)
        return site

    def add_remote(self, site, name: str, source_id: str):
        setSite(site)
        create_remote(
            site,
            {
                "name": name,
                "url": self.peer.url(source_id),
                "username": SITE_OWNER_NAME,
                "password": SITE_OWNER_PASSWORD,
            },
        )
        transaction.commit()

    def step(self, site, name: str, step: str, bundle: str = "") -> tuple[Job, float]:
        """Run one step with the job thread's own body (its own ZODB connection, request and
        system user), here in this thread; (job, seconds). ``bundle``: the file an import from
        file applies.

        The peer client's requests are also tallied by kind in ``self.request_kinds``.
        """
        transaction.commit()
        setSite(site)
        job = Job(name, step, "bench")
        job.bundle = bundle
        JobStore(site).add(job)
        transaction.commit()
        kinds: dict[str, int] = {}
        self.request_kinds = kinds
        original = PeerHTTP.request

        def tallied(http, method, url, **kwargs):
            params = str(kwargs.get("params") or "")
            if url.endswith("/@sync-read"):
                kind = "object reads"
            elif url.endswith("/@sync-changes"):
                kind = "change feed"
            elif url.endswith("/@sync-list"):
                kind = "listing"
            elif url.endswith("/@search"):
                kind = "object reads" if "fullobjects" in params else "listing"
            elif url.endswith("/@sharing"):
                kind = "@sharing"
            elif url.rstrip("/") == http.url.rstrip("/"):
                kind = "site"
            elif "/@search?" in url:
                kind = "listing"
            else:
                kind = "blobs"
            kinds[kind] = kinds.get(kind, 0) + 1
            return original(http, method, url, **kwargs)

        PeerHTTP.request = tallied
        try:
            started = time.perf_counter()
            run_job(self.db, "/".join(site.getPhysicalPath()), job.id)
            seconds = time.perf_counter() - started
        finally:
            PeerHTTP.request = original
            # The job body leaves this thread without site, request and user: restore them.
            setRequest(self.layer["request"])
            newSecurityManager(None, UnrestrictedUser("bench", "", ["Manager"], []).__of__(self.app.acl_users))
        transaction.begin()  # see what the job's connection committed
        setSite(site)
        job = JobStore(site).get(job.id)
        if job.state != "done":
            raise AssertionError(f"The {step} job of {name!r} ended {job.state}: {job.message}")
        return job, seconds

    def record_errors(self, label: str, job: Job) -> None:
        errors = list(job.errors)
        if errors:
            self.problems.append(f"{label}: {job.counts.get('errors', len(errors))} engine errors")
            for error in errors[:10]:
                self.notes.append(f"{label} error: {error['object']} [{error['step']}] {error['message']}")

    def sync_counts(self, job: Job) -> dict[str, int]:
        return {
            key: job.counts.get(key, 0) for key in ("created", "updated", "moved", "deleted", "conflicts", "errors")
        }

    def sync_health(self, label: str) -> None:
        """Conflicts recorded, and synced objects that now look edited here although nobody edited them."""
        from senaite_style_sync.sync.local import LocalSite

        setSite(self.portal)
        state = RemoteStorage(self.portal).get("src").state
        local = LocalSite(self.portal)
        conflicts = [f"{c.path} ({c.reason})" for c in state.conflicts.values()]
        looks_edited = []
        for uid, synced in state.synced.items():
            obj = local.find(uid, synced)
            if obj is not None and local.changed_since_sync(obj, synced):
                looks_edited.append(relative(self.portal, obj))
        self.results[f"{label}_conflicts"] = sorted(conflicts)
        self.results[f"{label}_looks_edited"] = sorted(looks_edited)
        if not self.check(
            not conflicts, f"{label}: {len(conflicts)} conflicts recorded, though nothing was edited here"
        ):
            self.notes.append(f"{label} conflicts: {', '.join(sorted(conflicts))}")
        if not self.check(
            not looks_edited, f"{label}: {len(looks_edited)} synced objects look edited here, though nothing was"
        ):
            self.notes.append(f"{label} objects that look edited here: {', '.join(sorted(looks_edited))}")

    # -- the benchmark -----------------------------------------------------------------

    def test_bench_sync(self):
        n = self.n
        r = self.results
        r["n"] = n
        r["load_start"] = load_average()
        # The peer builds its corpora while this process builds its copy, on the other core.
        self.peer = PeerProcess(n, max(n // 2, 10) if self.memory else 0, self.age_minutes)
        setSite(self.source)
        started = time.perf_counter()
        corpus = build_corpus(self.source, n, commit_every=500)
        transaction.commit()
        self.peer.wait_ready()
        self.source_url = self.peer.url("source")
        r["corpus_seconds"] = time.perf_counter() - started
        r["age_minutes"] = self.age_minutes
        r["corpus_types"] = {}
        for obj in corpus:
            r["corpus_types"][obj.portal_type] = r["corpus_types"].get(obj.portal_type, 0) + 1
        r["corpus_published"] = sum(api.content.get_state(obj, None) == "published" for obj in corpus)
        r["corpus_blob_mib"] = (
            sum(
                len(obj.file.data)
                if obj.portal_type == "File"
                else len(obj.image.data)
                if obj.portal_type == "News Item"
                else 0
                for obj in corpus
            )
            / 2**20
        )

        self.progress(f"corpus of {n} objects built in {r['corpus_seconds']:.1f} s")
        for label, phase in (
            ("(a) Fetch + Import", self.phase_sync),
            ("(a') from a stock peer", self.phase_stock_peer),
            ("(b) plone.exportimport", self.phase_exportimport),
            ("(c) create loop", lambda: self.phase_create_loop(corpus)),
            ("(g) a bundle of everything", self.phase_bundle),
            ("memory runs", self.phase_memory if self.memory else None),
            ("(d) Get Updates after changes", lambda: self.phase_updates(corpus)),
            ("(e) Get Updates, nothing changed", self.phase_no_changes),
            ("(h) and (f) between instances as deployed", self.phase_deployed if self.large else None),
        ):
            if phase is None:
                continue
            self.progress(f"{label} ...")
            started = time.perf_counter()
            phase()
            self.progress(f"{label} done in {time.perf_counter() - started:.1f} s")
        r["maxrss_mib"] = maxrss_mib()
        r["load_end"] = load_average()

        print(self.table())
        DOC.write_text(self.rst())
        print(f"\nWrote {DOC}")
        self.assertEqual(self.problems, [], "\n".join(self.problems + self.notes))

    # (a) ---------------------------------------------------------------------------------

    def phase_sync(self):
        r = self.results
        self.make_remote()
        rss_before = maxrss_mib()
        fetch, fetch_seconds = self.step(self.portal, "src", "fetch")
        process_cpu, writer_cpu = time.process_time(), time.thread_time()
        job, import_seconds = self.step(self.portal, "src", "import")
        r["a_import_cpu_process"] = time.process_time() - process_cpu
        r["a_import_cpu_writer"] = time.thread_time() - writer_cpu
        r["a_fetch_seconds"] = fetch_seconds
        r["a_import_seconds"] = import_seconds
        r["a_seconds"] = fetch_seconds + import_seconds
        r["a_rate"] = self.n / r["a_seconds"]
        r["a_requests"] = fetch.counts.get("requests", 0) + job.counts.get("requests", 0)
        r["a_request_kinds"] = dict(self.request_kinds)
        r["a_counts"] = self.sync_counts(job)
        r["a_maxrss_growth_mib"] = maxrss_mib() - rss_before
        self.record_errors("(a) fetch", fetch)
        self.record_errors("(a) import", job)
        self.check(job.counts.get("created") == self.n, f"(a) created {job.counts.get('created')} of {self.n} objects")
        setSite(self.portal)
        copied = len(content_objects(self.portal))
        self.check(copied == self.n, f"(a) the destination catalog lists {copied} objects, not {self.n}")
        self.sync_health("(a)")
        self.mirror_check("(a)")

    def phase_stock_peer(self):
        """(a) again, into a new site, reading the peer as a site without the add-on is read."""
        r = self.results
        site = self.new_site("fromstock", ADDON_PROFILES)
        self.add_remote(site, "stock", "source")
        transaction.commit()
        # The peer's @search, @sharing and blob downloads are plone.restapi's own: not asking
        # for @sync-read is all it takes to read it as a stock peer.
        with mock.patch.object(readers, "serves_sync_read", lambda http: False):
            fetch, fetch_seconds = self.step(site, "stock", "fetch")
            job, import_seconds = self.step(site, "stock", "import")
        r["a2_seconds"] = fetch_seconds + import_seconds
        r["a2_rate"] = self.n / r["a2_seconds"]
        r["a2_requests"] = fetch.counts.get("requests", 0) + job.counts.get("requests", 0)
        r["a2_request_kinds"] = dict(self.request_kinds)
        self.record_errors("(a') fetch", fetch)
        self.record_errors("(a') import", job)
        self.check(job.counts.get("created") == self.n, f"(a') created {job.counts.get('created')} of {self.n} objects")

    # (g) ---------------------------------------------------------------------------------

    def phase_bundle(self):
        """(g) everything as a bundle: exported from a site that holds the corpus, moved (copied
        to another directory, as onto a USB stick) and imported into a new site; beside (a)."""
        r = self.results
        setSite(self.source)
        outgoing = {"name": "bundle-out", "url": "https://receiver.invalid/Plone", "bundle_key": BUNDLE_KEY}
        create_remote(self.source, outgoing)
        transaction.commit()
        export, export_seconds = self.step(self.source, "bundle-out", "export")
        r["g_mib"] = os.path.getsize(export.bundle) / 2**20
        with tempfile.TemporaryDirectory(prefix="bench-stick-") as stick:
            started = time.perf_counter()
            moved = shutil.move(export.bundle, os.path.join(stick, "bundle.zip"))
            r["g_move_seconds"] = time.perf_counter() - started
            site = self.new_site("frombundle", ADDON_PROFILES)
            incoming = {"name": "bundle-in", "url": "https://sender.invalid/Plone", "bundle_key": BUNDLE_KEY}
            create_remote(site, incoming)
            transaction.commit()
            job, import_seconds = self.step(site, "bundle-in", "bundle", bundle=moved)
        r["g_export_seconds"] = export_seconds
        r["g_import_seconds"] = import_seconds
        r["g_seconds"] = export_seconds + r["g_move_seconds"] + import_seconds
        r["g_rate"] = self.n / r["g_seconds"]
        self.record_errors("(g) export", export)
        self.record_errors("(g) import", job)
        self.check(job.counts.get("created") == self.n, f"(g) created {job.counts.get('created')} of {self.n} objects")

    # (b) ---------------------------------------------------------------------------------

    def phase_exportimport(self):
        r = self.results
        try:
            from plone.exportimport.exporters import get_exporter
            from plone.exportimport.importers import get_importer
            from plone.exportimport.interfaces import IExporter
            from zope.component import queryAdapter
        except ImportError as error:
            r["b_error"] = f"plone.exportimport cannot be imported: {error}"
            return
        setSite(self.source)
        if queryAdapter(self.source, IExporter) is None:
            # The test layer loads Plone's ZCML without plone.exportimport's: load its exporters,
            # importers and (de)serializers here, into the layer's stacked global registry (popped
            # when the layer tears down). With a site set, ZCML would register into that site's
            # persistent registry instead, so no site is set while loading.
            from zope.configuration import xmlconfig

            setSite(None)
            xmlconfig.string(EXPORTIMPORT_ZCML, context=self.layer["configurationContext"])
            r["b_zcml_loaded"] = True
        target = self.new_site("exportimport")
        directory = Path(tempfile.mkdtemp(prefix="bench-exportimport-"))
        try:
            setSite(self.source)
            started = time.perf_counter()
            get_exporter(self.source).export_site(directory)
            transaction.commit()
            r["b_export_seconds"] = time.perf_counter() - started
            r["b_export_mib"] = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file()) / 2**20
            setSite(target)
            started = time.perf_counter()
            importer = get_importer(target)
            report = importer.import_site(directory)
            transaction.commit()
            r["b_import_seconds"] = time.perf_counter() - started
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        r["b_seconds"] = r["b_export_seconds"] + r["b_import_seconds"]
        r["b_rate"] = self.n / r["b_seconds"]
        r["b_report"] = [line for line in report if line]
        setSite(target)
        imported = len(content_objects(target))
        r["b_imported"] = imported
        incomplete = importer.incomplete
        if incomplete:
            self.notes.append(f"(b) plone.exportimport imported {len(incomplete)} items incompletely")
        self.check(imported == self.n, f"(b) plone.exportimport's target lists {imported} objects, not {self.n}")

    # (c) ---------------------------------------------------------------------------------

    def phase_create_loop(self, corpus):
        """The same objects (type, place, id, title, text, blobs, dates, state) by api.content.create."""
        r = self.results
        specs = []
        for obj in corpus:
            fields = {}
            if obj.portal_type == "Document":
                fields = {
                    "text": (obj.text.raw, obj.text.mimeType, obj.text.outputMimeType),
                    "subject": obj.subject,
                    "language": obj.language,
                }
            elif obj.portal_type == "News Item":
                fields = {"image": (obj.image.data, obj.image.filename, obj.image.contentType)}
            elif obj.portal_type == "File":
                fields = {"file": (obj.file.data, obj.file.filename, obj.file.contentType)}
            elif obj.portal_type == "Event":
                fields = {"start": obj.start, "end": obj.end}
            specs.append(
                (
                    relative(self.source, obj.aq_parent),
                    obj.portal_type,
                    obj.getId(),
                    obj.title,
                    fields,
                    api.content.get_state(obj, None) == "published",
                )
            )
        site = self.new_site("createloop")
        containers = {"": site}
        started = time.perf_counter()
        for number, (parent, portal_type, item_id, title, fields, published) in enumerate(specs, start=1):
            kwargs = dict(fields)
            if "text" in kwargs:
                kwargs["text"] = RichTextValue(*kwargs["text"])
            if "image" in kwargs:
                data, filename, content_type = kwargs["image"]
                kwargs["image"] = NamedBlobImage(data=data, filename=filename, contentType=content_type)
            if "file" in kwargs:
                data, filename, content_type = kwargs["file"]
                kwargs["file"] = NamedBlobFile(data=data, filename=filename, contentType=content_type)
            obj = api.content.create(containers[parent], portal_type, id=item_id, title=title, **kwargs)
            if published:
                api.content.transition(obj, "publish")
            if portal_type == "Folder":
                containers[f"{parent}/{item_id}" if parent else item_id] = obj
            if number % COMMIT_EVERY == 0:
                transaction.commit()
        transaction.commit()
        r["c_seconds"] = time.perf_counter() - started
        r["c_rate"] = self.n / r["c_seconds"]
        created = len(content_objects(site))
        self.check(created == self.n, f"(c) the create loop's site lists {created} objects, not {self.n}")

    # memory ------------------------------------------------------------------------------

    def measured_sync(self, site_id: str, source_id: str) -> tuple[int, int, int, int, Job]:
        """(traced peak, bytes of records the in-memory test storage gained, of its index of
        them, of all ZODB holds at the end, import job) of a Fetch + Import."""
        site = self.new_site(site_id, ADDON_PROFILES)
        self.add_remote(site, "mem", source_id)
        stored = stored_bytes(self.db.storage)
        # Both runs start from caches of ghosts, as after a restart: what each run loads is
        # traced whole, and none of the cache is left from an earlier phase.
        self.db.cacheMinimize()
        tracemalloc.start(STORAGE_FRAMES)
        try:
            fetch, _ = self.step(site, "mem", "fetch")
            job, _seconds = self.step(site, "mem", "import")
            _current, peak = tracemalloc.get_traced_memory()
            # Traced from the start of the run: what ZODB made for it, and still holds.
            held = tracemalloc.take_snapshot()
            index, zodb = traced_in(held, STORAGE_INDEX), traced_in(held, ZODB_MODULES)
        finally:
            tracemalloc.stop()
        self.record_errors(f"(memory {site_id}) fetch", fetch)
        self.record_errors(f"(memory {site_id}) import", job)
        return peak, stored_bytes(self.db.storage) - stored, index, zodb, job

    def phase_memory(self):
        r = self.results
        half = max(self.n // 2, 10)
        # The ZODB cache keeps up to cache-size objects per connection, whatever N is; with
        # 30000, a run of N objects fits in it whole, and the cache would grow with N up to
        # that bound. A smaller cache reaches its bound in both runs and shows the rest.
        self.db.setCacheSize(MEMORY_CACHE_SIZE)
        try:
            peak_full, stored_full, index_full, zodb_full, job = self.measured_sync("memfull", "source")
            self.check(job.counts.get("created") == self.n, f"(memory) created {job.counts.get('created')} of {self.n}")
            peak_half, stored_half, index_half, zodb_half, job = self.measured_sync("memhalf", "sourcehalf")
            self.check(job.counts.get("created") == half, f"(memory) created {job.counts.get('created')} of {half}")
        finally:
            self.db.setCacheSize(CACHE_SIZE)
        r["mem_half_n"] = half
        r["mem_peak_mib"] = peak_full / 2**20
        r["mem_peak_half_mib"] = peak_half / 2**20
        r["mem_ratio"] = peak_full / peak_half if peak_half else 0.0
        r["mem_stored_mib"] = stored_full / 2**20
        r["mem_stored_half_mib"] = stored_half / 2**20
        r["mem_index_mib"] = index_full / 2**20
        r["mem_index_half_mib"] = index_half / 2**20
        r["mem_cache_mib"] = (zodb_full - stored_full - index_full) / 2**20
        r["mem_cache_half_mib"] = (zodb_half - stored_half - index_half) / 2**20
        own_full, own_half = peak_full - stored_full - index_full, peak_half - stored_half - index_half
        r["mem_own_cached_mib"] = own_full / 2**20
        r["mem_own_cached_half_mib"] = own_half / 2**20
        r["mem_own_cached_ratio"] = own_full / own_half if own_half > 0 else 0.0
        own_full, own_half = peak_full - zodb_full, peak_half - zodb_half
        r["mem_own_mib"] = own_full / 2**20
        r["mem_own_half_mib"] = own_half / 2**20
        r["mem_own_ratio"] = own_full / own_half if own_half > 0 else 0.0

    # (h) and (f) ---------------------------------------------------------------------------

    def phase_deployed(self):
        """Two instances as deployed, at DEPLOYED_SMALL and at BENCH_LARGE objects."""
        runs = []
        with tempfile.TemporaryDirectory(prefix="bench-deployed-") as directory:
            for size in (min(DEPLOYED_SMALL, self.large), self.large):
                run = deployed_run(size, Path(directory), self.progress)
                self.problems.extend(run.pop("problems"))
                runs.append(run)
        self.results["deployed"] = runs

    # (d) ---------------------------------------------------------------------------------

    def phase_updates(self, corpus):
        r = self.results
        setSite(self.source)
        linked = set()
        for obj in corpus:
            if obj.portal_type == "Document":
                linked.update(re.findall(r"resolveuid/([0-9a-f]{32})", obj.text.raw))
                linked.update(rel.to_object.UID() for rel in (getattr(obj, "relatedItems", None) or []))
                linked.add(obj.UID())  # the related page and the default page are Documents too
        leaves = [obj for obj in corpus if not obj.isPrincipiaFolderish and obj.UID() not in linked]
        documents = [obj for obj in corpus if obj.portal_type == "Document"][2:]  # not the relation pair
        candidates = leaves + [obj for obj in documents if obj.getId() != getattr(obj.aq_parent, "default_page", None)]
        self.check(
            len(leaves) >= MOVES + DELETES and len(candidates) >= EDITS + MOVES + DELETES, "(d) corpus too small"
        )
        movable = leaves[: MOVES + DELETES]
        moves, deletes = movable[:MOVES], movable[MOVES:]
        taken = {obj.UID() for obj in movable}
        edits = [obj for obj in candidates if obj.UID() not in taken]
        edits = edits[:: max(len(edits) // EDITS, 1)][:EDITS]
        target_folder = corpus[0]  # folder-0
        # The local copy of the corpus chose the objects; the peer's have the same paths.
        peer = self.peer
        peer_before = {uid: (path, modified) for uid, (path, modified, _title) in peer.listing("source").items()}
        for number, obj in enumerate(edits):
            peer.change(
                "PATCH", peer.url("source", relative(self.source, obj)), {"title": f"{obj.title} (edited {number})"}
            )
        for obj in moves:
            if obj.aq_parent.getPhysicalPath() == target_folder.getPhysicalPath():
                target = corpus[1]
            else:
                target = target_folder
            source_url = peer.url("source", relative(self.source, obj))
            peer.change("POST", f"{peer.url('source', relative(self.source, target))}/@move", {"source": [source_url]})
        for obj in deletes:
            peer.change("DELETE", peer.url("source", relative(self.source, obj)))
        r["d_changed"] = {"edited": len(edits), "moved": len(moves), "deleted": len(deletes)}
        peer_after = {uid: (path, modified) for uid, (path, modified, _title) in peer.listing("source").items()}
        redated = {uid for uid in peer_after if uid in peer_before and peer_after[uid][1] != peer_before[uid][1]}
        relocated_there = {
            uid for uid in peer_after if uid in peer_before and peer_after[uid][0] != peer_before[uid][0]
        }
        gone = set(peer_before) - set(peer_after)
        r["d_peer_redated"] = sorted(peer_after[uid][0] for uid in redated)
        # What the peer's listing shows: a changed date means re-read and update; only a path
        # that changed with its date unchanged is a pure move.
        r["d_expected"] = {
            "created": 0,
            "updated": len(redated),
            "moved": len(relocated_there - redated),
            "deleted": len(gone),
            "conflicts": 0,
            "errors": 0,
        }
        setSite(self.portal)
        state = RemoteStorage(self.portal).get("src").state
        synced_before = dict(state.synced.items())
        job, seconds = self.step(self.portal, "src", "update")
        state = RemoteStorage(self.portal).get("src").state
        rewritten, relocated = [], []
        for uid, old in synced_before.items():
            new = state.synced.get(uid)
            if new is None:
                continue
            if new.token != old.token:
                rewritten.append(new.remote_path)
            if new.remote_path != old.remote_path:
                relocated.append(f"{old.remote_path} -> {new.remote_path}")
        r["d_rewritten"] = sorted(rewritten)
        r["d_relocated"] = sorted(relocated)
        r["d_edited_paths"] = sorted(relative(self.source, obj) for obj in edits)
        r["d_seconds"] = seconds
        r["d_requests"] = job.counts.get("requests", 0)
        r["d_request_kinds"] = dict(self.request_kinds)
        r["d_counts"] = self.sync_counts(job)
        r["d_plan"] = dict(job.plan)
        self.record_errors("(d) Get Updates", job)
        self.sync_health("(d)")
        literal = {"created": 0, "updated": EDITS, "moved": MOVES, "deleted": DELETES, "conflicts": 0, "errors": 0}
        r["d_literal_met"] = r["d_counts"] == literal
        expected = r["d_expected"]
        self.mirror_check("(d)")
        if not self.check(
            r["d_counts"] == expected,
            f"(d) Get Updates counted {r['d_counts']}; the peer's listing calls for {expected}",
        ):
            self.notes.append(f"(d) plan: {r['d_plan']}")
            self.notes.append(f"(d) edited on the peer: {', '.join(r['d_edited_paths'])}")
            self.notes.append(f"(d) content rewritten here: {', '.join(r['d_rewritten'])}")
            self.notes.append(f"(d) relocated here: {', '.join(r['d_relocated'])}")

    def mirror_check(self, label: str) -> None:
        """Every object of the peer is here at the same path with the same title; none other."""
        peer = {uid: (path, title) for uid, (path, _modified, title) in self.peer.listing("source").items()}
        setSite(self.portal)
        here = listed(self.portal)
        wrong = [
            f"{path}: here {here.get(uid)}" for uid, (path, title) in peer.items() if here.get(uid) != (path, title)
        ]
        extra = sorted(here[uid][0] for uid in set(here) - set(peer))
        self.results[f"{label}_mirror_wrong"] = len(wrong) + len(extra)
        if not self.check(
            not wrong and not extra, f"{label}: {len(wrong)} objects differ from the peer, {len(extra)} extra"
        ):
            self.notes.append(f"{label} differing: {'; '.join(wrong[:10])}; extra: {', '.join(extra[:10])}")

    # (e) ---------------------------------------------------------------------------------

    def phase_no_changes(self):
        r = self.results
        transaction.commit()
        setSite(self.portal)
        before = snapshot(self.portal)
        job, seconds = self.step(self.portal, "src", "update")
        transaction.commit()
        setSite(self.portal)
        after = snapshot(self.portal)
        r["e_seconds"] = seconds
        r["e_requests"] = job.counts.get("requests", 0)
        r["e_request_kinds"] = dict(self.request_kinds)
        r["e_counts"] = self.sync_counts(job)
        r["e_plan"] = dict(job.plan)
        r["e_objects"] = len(before)
        r["e_serial_changes"] = sum(before[path][0] != after.get(path, (None,))[0] for path in before) + len(
            set(after) - set(before)
        )
        r["e_modified_changes"] = sum(before[path][1] != after.get(path, (None, None))[1] for path in before)
        self.record_errors("(e) Get Updates", job)
        self.check(r["e_serial_changes"] == 0, f"(e) {r['e_serial_changes']} content objects were written")
        self.check(r["e_modified_changes"] == 0, f"(e) {r['e_modified_changes']} modification dates changed")
        written = {key: value for key, value in r["e_counts"].items() if value}
        self.check(not written, f"(e) Get Updates counted {written}")

    # -- output ------------------------------------------------------------------------

    def rows(self) -> list[tuple[str, str]]:
        r = self.results
        rows = [
            ("Objects (N)", f"{r['n']}"),
            ("(a) Fetch + Import over HTTP", f"{r['a_seconds']:.1f} s, {r['a_rate']:.1f} objects/s"),
            (
                "    Fetch / Import",
                f"{r['a_fetch_seconds']:.1f} s / {r['a_import_seconds']:.1f} s, {r['a_requests']} requests",
            ),
            (
                "    CPU during Import",
                f"{r['a_import_cpu_process']:.1f} s in this process, {r['a_import_cpu_writer']:.1f} s of it the"
                " writer's, the rest the reader threads'",
            ),
            ("    requests", kinds_text(r["a_request_kinds"])),
            (
                "(a') the same from a stock peer",
                f"{r['a2_seconds']:.1f} s, {r['a2_rate']:.1f} objects/s, {r['a2_requests']} requests",
            ),
            ("    requests", kinds_text(r["a2_request_kinds"])),
        ]
        if "b_rate" in r:
            rows += [
                ("(b) plone.exportimport export + import", f"{r['b_seconds']:.1f} s, {r['b_rate']:.1f} objects/s"),
                ("    export / import", f"{r['b_export_seconds']:.1f} s / {r['b_import_seconds']:.1f} s"),
            ]
        else:
            rows.append(("(b) plone.exportimport", f"not measured: {r.get('b_error')}"))
        rows += [
            ("(c) api.content.create loop", f"{r['c_seconds']:.1f} s, {r['c_rate']:.1f} objects/s"),
            (
                "(g) a bundle of everything: export, move, import",
                f"{r['g_seconds']:.1f} s, {r['g_rate']:.1f} objects/s, {r['g_mib']:.1f} MiB",
            ),
            (
                "    export / move / import",
                f"{r['g_export_seconds']:.1f} s / {r['g_move_seconds']:.2f} s / {r['g_import_seconds']:.1f} s",
            ),
            ("(g) / (a)", f"{r['g_rate'] / r['a_rate']:.2f} times as fast (target: at least 1)"),
        ]
        if "b_rate" in r:
            rows += [
                ("(a) / (b)", f"{r['a_rate'] / r['b_rate']:.2f} times as fast (target: at least {TARGET_SPEEDUP:g})"),
                (
                    "(a') / (b)",
                    f"{r['a2_rate'] / r['b_rate']:.2f} times as fast (target: at least {TARGET_STOCK_SPEEDUP:g})",
                ),
            ]
        rows += [
            ("(a) / (c)", f"{r['a_rate'] / r['c_rate']:.2f} times as fast"),
            (
                "(d) Get Updates after 10 edits, 2 moves, 2 deletes",
                f"{r['d_seconds']:.2f} s, {r['d_requests']} requests",
            ),
            ("    counts", ", ".join(f"{k} {v}" for k, v in r["d_counts"].items())),
            ("    the peer's listing calls for", ", ".join(f"{k} {v}" for k, v in r["d_expected"].items())),
            (
                f"    {EDITS} updated, {MOVES} moved, {DELETES} deleted?",
                "yes" if r["d_literal_met"] else "no: on a Plone peer a move re-dates the moved object and its folders",
            ),
            ("    plan", ", ".join(f"{k} {v}" for k, v in r["d_plan"].items() if v)),
            ("    requests", kinds_text(r["d_request_kinds"])),
            ("(e) Get Updates, nothing changed", f"{r['e_seconds']:.2f} s, {r['e_requests']} requests"),
            ("    requests", kinds_text(r["e_request_kinds"])),
            ("    plan", ", ".join(f"{k} {v}" for k, v in r["e_plan"].items() if v)),
            (
                "    content writes",
                f"{r['e_serial_changes']} of {r['e_objects']} objects re-stored, {r['e_modified_changes']} dates changed",
            ),
        ]
        if "mem_peak_mib" in r:
            rows += [
                ("Peak traced memory, Fetch + Import of N", f"{r['mem_peak_mib']:.1f} MiB"),
                (
                    f"    of N/2 = {r['mem_half_n']}",
                    f"{r['mem_peak_half_mib']:.1f} MiB (ratio N : N/2 = {r['mem_ratio']:.2f})",
                ),
                (
                    "    of it, records written into the in-memory storage",
                    f"{r['mem_stored_mib']:.1f} MiB for N, {r['mem_stored_half_mib']:.1f} MiB for N/2",
                ),
                (
                    "    and that storage's own index of them",
                    f"{r['mem_index_mib']:.1f} MiB for N, {r['mem_index_half_mib']:.1f} MiB for N/2",
                ),
                (
                    "    the rest, with ZODB's caches",
                    f"{r['mem_own_cached_mib']:.1f} MiB for N, {r['mem_own_cached_half_mib']:.1f} MiB for N/2"
                    f" (ratio {r['mem_own_cached_ratio']:.2f})",
                ),
                (
                    "    of it, the caches' unpickled objects and ghosts",
                    f"{r['mem_cache_mib']:.1f} MiB for N, {r['mem_cache_half_mib']:.1f} MiB for N/2",
                ),
                (
                    "    the rest: the sync's own",
                    f"{r['mem_own_mib']:.1f} MiB for N, {r['mem_own_half_mib']:.1f} MiB for N/2"
                    f" (ratio {r['mem_own_ratio']:.2f})",
                ),
            ]
        rows += self.deployed_rows()
        rows += [
            (
                "Process max RSS (whole run)",
                f"{r['maxrss_mib']:.0f} MiB (grew {r['a_maxrss_growth_mib']:.0f} MiB during (a))",
            ),
        ]
        return rows

    def deployed_rows(self) -> list[tuple[str, str]]:
        rows = []
        for run in self.results.get("deployed", ()):
            n = run["n"]
            rows += [
                (
                    f"(h) Fetch + Import, instances on FileStorage, {n} objects",
                    f"{run['seconds']:.1f} s, {run['rate']:.1f} objects/s, {run['requests']} requests",
                ),
                ("    Fetch / Import", f"{run['fetch_seconds']:.1f} s / {run['import_seconds']:.1f} s"),
                (
                    "    destination's memory",
                    f"peak {run['memory_growth_mib']:.0f} MiB above the {run['memory_before_mib']:.0f} MiB it held"
                    f" before; {run['cached_objects']} objects in its ZODB caches after; Data.fs"
                    f" {run['data_fs_mib']:.0f} MiB",
                ),
            ]
            for number, update in enumerate(run["f"], 1):
                when = "first after the Import" if number == 1 else f"run {number}"
                rows += [
                    (
                        f"(f) Get Updates after {EDITS} edits, {MOVES} moves, {DELETES} deletes, {n} objects,"
                        f" {'through the stock listing' if update['stock'] else when}",
                        f"{update['seconds']:.2f} s, {update['requests']} requests",
                    ),
                    ("    counts", ", ".join(f"{k} {v}" for k, v in update["counts"].items())),
                ]
        if len(self.results.get("deployed", ())) == 2:
            small, large = self.results["deployed"]
            rows.append(
                (
                    f"(h) objects/s at {large['n']} / at {small['n']}",
                    f"{large['rate'] / small['rate']:.2f} (target: at least {TARGET_SCALING:g})",
                )
            )
            for number, (at_small, at_large) in enumerate(zip(small["f"], large["f"], strict=True), 1):
                growth = at_large["seconds"] / at_small["seconds"]
                target = "no target: as it was" if at_large["stock"] else f"target: at most {TARGET_F_GROWTH:g}"
                rows.append((f"(f) run {number}: time at {large['n']} / at {small['n']}", f"{growth:.2f} ({target})"))
        return rows

    def deployed_verdicts(self) -> list[str]:
        if len(self.results.get("deployed", ())) != 2:
            return []
        small, large = self.results["deployed"]
        scaling = large["rate"] / small["rate"]
        verdicts = [
            f"* (h) runs at {large['rate']:.1f} objects/s with {large['n']} objects and {small['rate']:.1f}"
            f" with {small['n']} ({scaling:.2f}): target {'met' if scaling >= TARGET_SCALING else 'NOT met'}."
            f" The destination's peak memory grew {large['memory_growth_mib']:.0f} MiB and"
            f" {small['memory_growth_mib']:.0f} MiB, its ZODB caches then holding {large['cached_objects']}"
            f" and {small['cached_objects']} objects.",
        ]
        for number, (at_small, at_large) in enumerate(zip(small["f"], large["f"], strict=True), 1):
            growth = at_large["seconds"] / at_small["seconds"]
            met = at_large["requests"] <= TARGET_F_REQUESTS and growth <= TARGET_F_GROWTH
            when = {1: " (the first after the Import)"}.get(number, "")
            verdict = f"target {'met' if met else 'NOT met'}"
            if at_large["stock"]:
                when, verdict = " (through the stock listing)", "no target, the stock path stays as it was"
            verdicts.append(
                f"* (f) run {number}{when} takes"
                f" {at_large['requests']} requests and {at_large['seconds']:.2f} s with {large['n']} objects,"
                f" {at_small['requests']} and {at_small['seconds']:.2f} s with {small['n']} ({growth:.2f} times the"
                f" time): {verdict}."
            )
        return verdicts

    def table(self) -> str:
        rows = self.rows()
        width = max(len(label) for label, _ in rows)
        lines = ["", "Benchmark results", "=" * (width + 40)]
        lines += [f"{label.ljust(width)}  {value}" for label, value in rows]
        lines += [f"PROBLEM: {problem}" for problem in self.problems]
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    def rst(self) -> str:
        r = self.results
        info = machine()
        speedup = r["a_rate"] / r["b_rate"] if "b_rate" in r else None
        lines = [
            "Benchmarks",
            "==========",
            "",
            "Written by ``make bench`` (``BENCH_OBJECTS`` objects, default 1000); every run",
            "overwrites this page. ``make test`` does not run the benchmark.",
            "",
            "Machine",
            "-------",
            "",
        ]
        lines += [f"* {key}: {value}" for key, value in info.items()]
        lines += [
            f"* Load average (1, 5, 15 min) at start: {r['load_start']}; at end: {r['load_end']}",
            "",
            "The machine was not reserved for the run: other processes' load, shown by the",
            "load averages, slows every measurement; compare ratios rather than absolute rates.",
        ]
        types = ", ".join(f"{count} {name}" for name, count in sorted(r["corpus_types"].items()))
        lines += [
            "",
            "Set-up",
            "------",
            "",
            "The peer is a Zope process of its own, as in a deployment (``benchmarks/peer.py``:",
            "the tests' layer with its WSGI server and the add-on installed). The sync runs in",
            "the benchmark's process, in the test layer's ``plone`` site, so peer and sync each",
            "have a core. Both use the test layer's ZODB (an in-memory storage with a temporary",
            f"blob directory). The sync's ZODB cache is set to {CACHE_SIZE} objects per connection,",
            "as in the instance's ``zope.conf`` (the test layer's database has",
            f"{self.layer_cache_size}). Each step runs the job's own body (``run_job``: its own",
            "ZODB connection, request and system user) in the benchmark's thread.",
            "",
            "Before it reports ready, the peer answers a few reads on each of its four server",
            "threads (its site, a listing, ``@sync-read`` and ``@search?fullobjects`` of five",
            "objects), as a peer in service has: its connections hold the site, its tools and",
            "catalog, not the objects the benchmark reads.",
            "",
            f"Corpus on the peer's ``source``: {r['n']} objects ({types}), {r['corpus_published']} published,",
            f"{r['corpus_blob_mib']:.1f} MiB of images and files (10 bytes to 200 kB each), rich",
            "text with links, a relation, local roles (one folder blocks inheritance) and a",
            "default page. The benchmark's process builds the same corpus (same generator and",
            "seed, so same paths and content) on its own ``source`` for (b) and (c).",
            "",
        ]
        if r["age_minutes"]:
            lines += [
                f"Once built, the corpus is dated {r['age_minutes']} minutes back (creation and modification",
                "dates, reindexed without touching anything else), as content on a live site was",
                'edited earlier, not seconds before the sync. Get Updates re-reads ("recheck")',
                "every object modified less than the engine's overlap window before the last",
                "sync; without the dating, the whole fresh corpus falls in that window and (d) and",
                "(e) re-read all of it (``BENCH_AGE_MINUTES=0`` measures that case).",
                "",
            ]
        else:
            lines += [
                "The corpus keeps its fresh dates (``BENCH_AGE_MINUTES=0``): it lies inside the",
                'engine\'s overlap window, so (d) and (e) re-read ("recheck") all of it.',
                "",
            ]
        lines += [
            "(a)",
            "  Fetch then Import into the empty ``plone`` site, over HTTP. The peer has the",
            "  add-on, so objects, review history and local roles come in batches from its",
            "  ``@sync-read`` endpoint.",
            "(a')",
            "  The same into another new site, reading the peer as a site without the add-on",
            "  is read: ``@search?fullobjects&expand=workflow`` batches, one ``@sharing`` per",
            "  object, blob downloads.",
            "(b)",
            "  plone.exportimport: export ``source`` into a temporary directory with",
            "  ``get_exporter(site).export_site(path)``, then ``get_importer(new_site).import_site(path)``",
            "  into a new, empty Plone site in the same Zope application, and commit.",
            "(c)",
            "  A plain ``api.content.create`` loop writing the same objects (type, place, id,",
            "  title, text, image and file data, event dates, published state) into another",
            f"  new site, committing every {COMMIT_EVERY} objects as the sync does: the local write limit.",
            "(g)",
            "  Export to file of everything in the benchmark's own copy of ``source`` (the same corpus),",
            "  the bundle moved to another directory, and Import from file into a new site.",
            "(d)",
            f"  On the peer, over its REST API: {EDITS} title edits (PATCH), {MOVES} moves (@move),",
            f"  {DELETES} deletions (DELETE); then Get Updates.",
            "(e)",
            "  Get Updates again with nothing changed; the ``_p_serial`` and ``modified()`` of",
            "  every content object of ``plone`` are compared before and after.",
            "(h)",
            "  Two Zope instances as deployed (``benchmarks/deployed.py``): each a process of its",
            "  own, started from a ``zope.conf`` like the instance's (FileStorage with blobs,",
            f"  cache-size {CACHE_SIZE}), serving with waitress's four threads. The peer builds the",
            "  corpus (the same generator) on its ``source``; the destination's ``Plone`` gets a",
            "  Remote over REST and runs Fetch and Import over REST, each a job in its thread.",
            f"  Once with {DEPLOYED_SMALL} objects and once with ``BENCH_LARGE``, in new instances.",
            "  The destination then lists every object the peer lists, at the same path with the",
            "  same title and review state (plain ``@search`` on both), or the run fails.",
            "(f)",
            f"  On each (h) peer: {EDITS} edits, {MOVES} moves, {DELETES} deletions over its REST API,",
            "  then Get Updates over REST; both sites' listings are compared again. Twice: the",
            "  first Get Updates after the Import, then again with ten other objects edited. Then",
            "  a third time with the add-on's browser layer taken off the peer: it serves",
            "  plone.restapi only, so Get Updates lists it as a stock peer (no target: that path",
            "  stays as it was).",
            "",
            "Targets",
            "-------",
            "",
            f"* (a) is at least {TARGET_SPEEDUP:g} times as fast as (b); (a') at least {TARGET_STOCK_SPEEDUP:g} times.",
            "* (d) issues requests in proportion to the changes (from the peer's change feed; a peer"
            " without one is listed too).",
            "* (e) writes nothing.",
            f"* (h): objects/s with ``BENCH_LARGE`` objects is at least {TARGET_SCALING:g} times that with"
            f" {DEPLOYED_SMALL}, and the sync's own memory does not grow with N.",
            f"* (f) from the feed: at most {TARGET_F_REQUESTS} requests, and at most {TARGET_F_GROWTH:g} times"
            f" the time with {DEPLOYED_SMALL} objects.",
            "* (g): importing a bundle of N objects (with its export and its move) is at least as fast as"
            " pulling them over HTTP (a).",
            "",
            "Results",
            "-------",
            "",
        ]
        # A cell or item starting "(a)" would be read as an enumerated list: escape the parenthesis.
        rows = [(re.sub(r"^\(", r"\\(", label.strip()), value) for label, value in self.rows()]
        width = max(len(label) for label, _ in rows)
        value_width = max(len(value) for _, value in rows)
        border = f"{'=' * width}  {'=' * value_width}"
        lines += [border, f"{'Measure'.ljust(width)}  Result", border]
        for label, value in rows:
            lines.append(f"{label.ljust(width)}  {value}")
        lines += [border, ""]
        verdicts = []
        bundle_met = "met" if r["g_rate"] >= r["a_rate"] else "NOT met"
        verdicts.append(f"* (g) is {r['g_rate'] / r['a_rate']:.2f} times as fast as (a): target {bundle_met}.")
        if speedup is not None:
            met = "met" if speedup >= TARGET_SPEEDUP else "NOT met"
            verdicts.append(f"* (a) is {speedup:.2f} times as fast as (b): target {met}.")
            stock = r["a2_rate"] / r["b_rate"]
            verdicts.append(
                f"* (a') is {stock:.2f} times as fast as (b): target"
                f" {'met' if stock >= TARGET_STOCK_SPEEDUP else 'NOT met'}. A peer without the add-on"
                " answers one @sharing request per object and computes each object's workflow"
                " transitions for ``expand=workflow``."
            )
        else:
            verdicts.append(f"* (b) could not be measured: {r.get('b_error')}")
        listing = sum(r["e_request_kinds"].get(kind, 0) for kind in ("listing", "site"))
        from_feed = bool(r["d_request_kinds"].get("change feed"))
        verdicts.append(
            f"* (d) used {r['d_requests']} requests ({kinds_text(r['d_request_kinds'])}) for"
            f" {EDITS} edits, {MOVES} moves and {DELETES} deletions on the peer, which it counted as"
            f" {r['d_counts']['updated']} updated, {r['d_counts']['moved']} moved and"
            f" {r['d_counts']['deleted']} deleted. "
            + (
                "It read the peer's change feed, not a listing: the entries since the last run, the"
                " order of the folders whose children changed, the objects named (batched reads, and the"
                " blobs of changed files), and a look-up that confirms the deletions."
                if from_feed
                else f"Listing the scope takes {listing} requests; the rest reads only what the listing"
                " shows changed (batched object reads, and the blobs of each changed object)."
            )
        )
        if not r["d_literal_met"]:
            verdicts.append(
                f"* The counts are not {EDITS} updated, {MOVES} moved, {DELETES} deleted: on the Plone peer,"
                " a move (``@move``) gives the moved object and its old and new folders a new modification"
                " date (the catalog's reindex after the move, and the folders' modified event), and"
                " deleting an object gives its folder one. Besides the edited objects, the peer's listing"
                " therefore shows these changed:"
                f" {', '.join(sorted(set(r['d_peer_redated']) - set(r['d_edited_paths'])))}. The engine"
                " re-reads each of them and,"
                " since its content differs (its date at least), updates it, moving it in the same write."
                f" Counts that follow the listing ({', '.join(f'{k} {v}' for k, v in r['d_expected'].items())})"
                " are what the benchmark checks."
            )
        verdicts.append(
            f"* (e) used {r['e_requests']} requests ({kinds_text(r['e_request_kinds'])}): "
            + (
                "one page of the change feed, empty, besides asking the peer what it serves."
                if r["e_request_kinds"].get("change feed")
                else f"the listing, and one batched re-read of the {r['e_plan'].get('recheck', 0)} objects"
                " modified within the engine's overlap window before the last sync (whose content hashes"
                " it compares, writing nothing)."
            )
        )
        writes = "met" if r["e_serial_changes"] == 0 and r["e_modified_changes"] == 0 else "NOT met"
        verdicts.append(
            f"* (e) re-stored {r['e_serial_changes']} of {r['e_objects']} content objects and changed"
            f" {r['e_modified_changes']} modification dates: target {writes}."
        )
        if "mem_own_mib" in r:
            verdicts.append(
                f"* Memory: the traced peak of Fetch + Import is {r['mem_peak_mib']:.1f} MiB for N and"
                f" {r['mem_peak_half_mib']:.1f} MiB for N/2; without what the in-memory test storage"
                f" kept (the written records and its index of them), {r['mem_own_cached_mib']:.1f} MiB and"
                f" {r['mem_own_cached_half_mib']:.1f} MiB (ratio {r['mem_own_cached_ratio']:.2f}); without"
                f" what ZODB's caches hold as well (bounded by their size in objects),"
                f" {r['mem_own_mib']:.1f} MiB and {r['mem_own_half_mib']:.1f} MiB"
                f" (ratio {r['mem_own_ratio']:.2f})."
            )
        verdicts += self.deployed_verdicts()
        lines += ["Verdict", "-------", ""] + verdicts + [""]
        lines += [
            "How it is measured",
            "------------------",
            "",
            "Times are wall-clock (``time.perf_counter``) around each step, commits included;",
            "objects per second is N divided by that time. (a) includes the peer's side of",
            "every request, served by the other process. (b) is the export and the import added together. Requests are",
            'the peer client\'s own count (``job.counts["requests"]``), retries included.',
            "",
            "Memory: ``tracemalloc`` slows Python down, so (a) is timed without it; the peak",
            "is taken from two further Fetch + Import runs into new sites of their own, one",
            "of N objects and one of N/2 (from a second peer site), both traced. The traced",
            "peak covers every thread of the benchmark's process (the peer's is not traced),",
            "the ZODB caches included; a ratio near 1 means memory does not grow with N. The",
            "ZODB cache is bounded by its size in objects, not by N: these two runs use a cache",
            f"of {MEMORY_CACHE_SIZE} objects per connection, emptied to ghosts before each run and",
            "filled by both, so what grows with N",
            "beyond it shows (the Remote's index and its record of synced objects grow by",
            "design). The test layer's storage keeps every record written (each revision of",
            "each object and catalog bucket) in the process's memory, where a deployment's",
            "FileStorage or RelStorage writes them out: those bytes, summed from the storage",
            "before and after each run, are shown. So is the storage's own index of them (its",
            "maps of oids, serials and transactions: the traced allocations, still held at the",
            "end, made in its modules or one call below, ``tracemalloc`` keeping two frames); a",
            "FileStorage keeps a compact index of oids to file offsets instead. What remains",
            "is shown with ZODB's caches and without them: the caches are bounded by their",
            "count of objects, not their bytes, and hold the objects last used (after a full",
            "Import, the second pass has visited every folder, so more of them and their",
            "ordering lists at N than at N/2). Their share is the traced allocations still held",
            "that were made in ZODB's modules (or one call below), less the records and the",
            "index. The rest is the sync's own memory. What ZODB holds is taken at the end of",
            "the run; it only grows during one, except the caches, which shrink at each commit.",
            "The maximum resident set size is the benchmark process's, from",
            "``resource.getrusage``.",
            "",
            "(h) and (f) time each job from its own record (started to ended), so the REST",
            "round trips that start and poll it are left out. The destination's memory is its",
            "process's peak resident set (``VmHWM``, reset just before Fetch) above its resident",
            "set then; it includes the ZODB caches, which hold up to cache-size objects per",
            "connection (the count after the Import is shown).",
        ]
        if r.get("b_zcml_loaded"):
            lines += [
                "",
                "The test layer does not load plone.exportimport's ZCML; the benchmark loads",
                "it into the layer's configuration before (b).",
            ]
        if self.problems or self.notes:
            lines += ["", "Problems seen in this run", "-------------------------", ""]
            lines += [f"* {line}" for line in self.problems + self.notes]
        lines.append("")
        lines = [re.sub(r"^(\* )?\((?=[a-h]\))", lambda m: (m.group(1) or "") + "\\(", line) for line in lines]
        return "\n".join(lines)
