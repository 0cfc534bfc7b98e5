"""The steps as job bodies: Fetch, Import, Get Updates (both), and the confirmed deletions.

Content goes through the sync pipeline (sync/); every importer the remote enables runs
(importers/): those the content needs (users and groups: a copy's creator owns it only when
that is a user here) before it, the others after it.
"""

import tempfile

import transaction
from zope.component import getUtilitiesFor

from senaite_style_sync.interfaces import IImporter
from senaite_style_sync.jobs.bundles import export_step
from senaite_style_sync.jobs.bundles import import_step
from senaite_style_sync.jobs.bundles import push_step
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.validation import certificate_error
from senaite_style_sync.peer.http import PeerHTTP
from senaite_style_sync.peer.readers import open_reader
from senaite_style_sync.sync.chunks import request_caches_per_transaction
from senaite_style_sync.sync.feed import advance
from senaite_style_sync.sync.feed import update_from_feed
from senaite_style_sync.sync.fetch import fetch
from senaite_style_sync.sync.importing import apply_plan
from senaite_style_sync.sync.importing import delete_confirmed
from senaite_style_sync.sync.importing import repair
from senaite_style_sync.sync.local import LocalSite
from senaite_style_sync.sync.verify import verify


SUMMARY_COUNTS = (
    "created",
    "updated",
    "moved",
    "deleted",
    "conflicts",
    "records",
    "users",
    "groups",
    "differences",
    "objects",
    "errors",
    "warnings",
)


class StepRefused(Exception):
    """The step cannot run with the remote's settings as they are now."""


def peer_http(remote, tmpdir: str) -> PeerHTTP:
    """The remote's HTTP; its downloads go to ``tmpdir``."""
    # A CA file removed since the remote was saved: say so, rather than what requests says.
    if problem := certificate_error(remote.certificate_path):
        raise StepRefused(f"The Certificate Path {remote.certificate_path}: {problem}")
    http = PeerHTTP(remote.url, remote.username, remote.password(), remote.certificate_path)
    http.tmpdir = tmpdir  # read by PeerHTTP.download (peer/http.py)
    return http


def run_step(site, remote, job: Job) -> None:
    """Run the job's step. Its downloads go to a temporary directory of its own, removed however
    the step ends: a download stays until the step ends, for a redo of its write. What Plone
    caches on the job's one request lasts one transaction (sync/chunks.py)."""
    with (
        tempfile.TemporaryDirectory(prefix=f"sync-job-{job.id}-", ignore_cleanup_errors=True) as tmpdir,
        request_caches_per_transaction(),
    ):
        if offline(site, job):
            run_offline(site, remote, job, tmpdir)
            finish(remote, job, 0)
        else:
            run_with(site, remote, job, peer_http(remote, tmpdir))


def offline(site, job: Job) -> bool:
    """Does the step run without the peer (which may be out of reach)?"""
    if job.step == "delete":
        held = JobStore(site).get(job.confirms)
        return held is not None and held.step == "bundle"
    return job.step in ("export", "bundle")


def run_offline(site, remote, job: Job, tmpdir: str) -> None:
    if job.step == "export":
        export_step(site, remote, job)
    elif job.step == "bundle":
        import_step(site, remote, job, tmpdir)
    else:  # the deletions a bundle held back: it said they were gone when it was written
        delete_confirmed(site, remote, job, None)


def run_with(site, remote, job: Job, http: PeerHTTP) -> None:
    """The step's work, over the remote's HTTP."""
    if job.step == "push":
        push_step(site, remote, job, http)
        finish(remote, job, http.requests_made)
        return
    reader = open_reader(http)
    if job.step == "delete":
        delete_confirmed(site, remote, job, reader)
    if job.step == "verify":
        verify(site, remote, job, reader)
    if job.step == "repair":
        repair(site, remote, job, reader)
    feed = None
    if job.step == "update":  # from the peer's change feed where it serves one (sync/feed.py)
        feed = update_from_feed(remote, job, reader, LocalSite(site))
    if job.step in ("fetch", "update") and feed is None:
        fetch(remote, job, reader, LocalSite(site))
    if job.step in ("import", "update"):
        errors_before = job.counts.get("errors", 0)
        run_importers(site, remote, job, http, before_content=True)
        importer_errors = job.counts.get("errors", 0) - errors_before
        # The manual Get Updates re-reads what was modified since a date: all of the index.
        only = feed.only if feed is not None and not job.since else None
        failed = apply_plan(site, remote, job, reader, only=only, reread=feed.reread if feed else ())
        if feed is not None and remote.last_plan != dict(job.plan):
            remote.last_plan = dict(job.plan)  # the plan this run applied, as a Fetch records it
        # A user or group error must not hold the content cursors back (nor, after them, a registry one).
        advance(remote.state, job, failed, importer_errors)
        run_importers(site, remote, job, http, before_content=False)
    finish(remote, job, http.requests_made)


def finish(remote, job: Job, requests: int) -> None:
    job.counts["requests"] = requests
    errors = job.counts.get("errors", 0)
    job.message = " ".join(part for part in (job.message, summary(job)) if part)
    remote.record_run(job.step, f"{errors} errors" if errors else "ok", job.done)


def run_importers(site, remote, job: Job, http: PeerHTTP, before_content: bool) -> None:
    """Every registered importer the remote enables that runs before (or after) the content,
    in their order, each committed on its own."""
    for _name, importer in sorted(getUtilitiesFor(IImporter), key=lambda item: (item[1].order, item[0])):
        if bool(getattr(importer, "before_content", False)) == before_content and importer.enabled(remote):
            importer(site, remote, job, http)
            transaction.commit()


def summary(job: Job) -> str:
    parts = [f"{job.counts[key]} {key}" for key in SUMMARY_COUNTS if job.counts.get(key)]
    if job.step in ("fetch", "verify"):
        parts.insert(0, f"{job.total} objects in scope")
    if job.pending_deletes:
        parts.append(f"{len(job.pending_deletes)} deletions wait for confirmation")
    return ", ".join(parts) or "nothing to do"
