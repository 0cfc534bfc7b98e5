"""Start a step as a background job: its own thread, its own ZODB connection, never the browser request.

The job is created in the request's transaction; its thread starts only once that
transaction has committed, so the thread always finds its job. One job per remote at a
time: a start while another job of the remote is active is refused. While the step runs a
heartbeat thread keeps the lock (jobs/heartbeat.py); whatever ends the step, the job is
recorded as ended (a write conflict included).
"""

import logging
import threading
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import transaction
from plone import api
from ZODB.POSException import ConflictError
from zope.component.hooks import setSite

from senaite_style_sync.jobs.heartbeat import Heartbeat
from senaite_style_sync.jobs.process import instance_id
from senaite_style_sync.jobs.process import process_id
from senaite_style_sync.jobs.steps import StepRefused
from senaite_style_sync.jobs.steps import run_step
from senaite_style_sync.jobs.system import as_system
from senaite_style_sync.jobs.system import serve_as
from senaite_style_sync.model.jobs import SYSTEM_USER
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.jobs import capped
from senaite_style_sync.model.remote import Remote
from senaite_style_sync.model.storage import RemoteStorage


logger = logging.getLogger("senaite_style_sync")
STEPS = ("fetch", "import", "update", "delete", "verify", "repair", "export", "bundle", "push")
# Steps that carry out what another job found: deletions it held back, differences it listed.
FOLLOW_UPS = {"delete": ("pending_deletes", "deletions"), "repair": ("differences", "differences")}
AUTOMATIC = ("clock", "hook", "cron", "resume")
COMMIT_RETRIES = 3
# How long a job's thread waits for its request to return its ZODB connection (after_close).
CLOSE_WAIT, RETURN_WAIT = 1.0, 0.05
T = TypeVar("T")


class JobRefused(Exception):
    """The job cannot start (another job of the remote is active, or the step is unknown)."""


def active_job(site, remote: Remote) -> Job | None:
    job = JobStore(site).get(getattr(remote, "active_job", ""))
    return job if job is not None and job.active else None


def start_job(
    site, remote: Remote, step: str, trigger: str, since: str = "", confirms: str = "", *, in_thread: bool = True
) -> Job:
    """Create the job now; its thread starts after this transaction commits (``in_thread``
    False: the caller runs it, with ``run_here``).

    A "delete" job carries out the deletions that the job ``confirms`` held back.
    """
    if step not in STEPS:
        raise JobRefused(f"Unknown step {step!r}.")
    running = active_job(site, remote)
    if running is not None:
        raise JobRefused(f"A {running.step} job for '{remote.name}' is still running ({running.done}/{running.total}).")
    if step in FOLLOW_UPS:
        attribute, what = FOLLOW_UPS[step]
        held = JobStore(site).get(confirms)
        if held is None or held.remote != remote.name or not getattr(held, attribute):
            raise JobRefused(f"That run holds no {what} of this remote to act on.")
        if held.confirmed_by:
            raise JobRefused(f"Those {what} were acted on already.")
    job = Job(remote.name, step, trigger, since, confirms)
    job.site_url = site.absolute_url()  # the job's thread has no request to tell its URL
    job.instance, job.process = instance_id(), process_id()  # its thread starts in this process
    JobStore(site).add(job)
    # Writing the remote makes two simultaneous starts conflict in ZODB: one of them retries and is refused.
    remote.active_job = job.id
    connection = site._p_jar
    db = connection.db()
    site_path = "/".join(site.getPhysicalPath())

    def start_after_commit(committed: bool) -> None:
        if committed:
            closed = threading.Event()
            connection.onCloseCallback(closed.set)
            args = (db, site_path, job.id, lambda: after_close(connection, closed))
            threading.Thread(target=run_job, args=args, name=f"sync-{job.id}", daemon=True).start()

    if in_thread:
        transaction.get().addAfterCommitHook(start_after_commit)
    return job


def run_here(site, job: Job) -> Job:
    """Run a job started with ``in_thread`` False in this thread (a command line's); how it ended."""
    job = committed(lambda: begin(site, job.id))
    return run_started(site, job)


def notify_failure(site, job: Job) -> None:
    """E-mail the site's admin address about an automatic run that failed or had errors."""
    address = api.portal.get_registry_record("plone.email_from_address", default="")
    if not address:
        return
    errors = "\n".join(f"- {e['object']} ({e['step']}): {e['message']}" for e in list(job.errors)[:50])
    site_url = job.site_url or site.absolute_url()
    body = (
        f"The automatic {job.step} of remote '{job.remote}' on {site_url} "
        f"ended {job.state}: {job.message}\n\n{errors}\n\n"
        f"Run history: {site_url}/@@sync-history?remote={job.remote}\n"
    )
    try:
        api.portal.send_email(recipient=address, sender=address, subject=f"Sync of '{job.remote}' failed", body=body)
    except Exception:  # noqa: BLE001 -- a mail problem must not hide the job's own outcome
        logger.exception("Could not send the failure e-mail for job %s", job.id)


def committed(attempt: Callable[[], T]) -> T:
    """``attempt()`` and commit; on a write conflict abort and try again, a few times."""
    tries = 1
    while True:
        try:
            result = attempt()
            transaction.commit()
            return result
        except ConflictError:
            transaction.abort()
            if tries == COMMIT_RETRIES:
                raise
            tries += 1


def begin(site, job_id: str) -> Job:
    job = JobStore(site).get(job_id)
    job.state = "running"
    job.started = datetime.now()
    return job


def fail(site, job_id: str, error: Exception) -> Job:
    """Record on the job (read again: the step's work was aborted) why it stopped."""
    job = JobStore(site).get(job_id)
    job.state = "failed"
    job.ended = datetime.now()
    job.message = capped(f"{type(error).__name__}: {error}")
    remote = RemoteStorage(site).get(job.remote)
    if remote is not None:
        remote.record_run(job.step, "failed", job.done)
    return job


def after_close(connection, closed: threading.Event) -> None:
    """Wait, a moment at most, until the starting request has put its connection back in the pool.

    ZODB's pool hands out the free connection with the most objects loaded, usually that one,
    whose cache the previous job warmed (the catalog, the remote's state), not a colder one it
    would load them into again. A connection that stays open (a script's, a test's) delays the job by
    CLOSE_WAIT.
    """
    if closed.wait(CLOSE_WAIT):
        deadline = time.monotonic() + RETURN_WAIT  # close() calls back just before it returns it
        while connection.opened is not None and time.monotonic() < deadline:
            time.sleep(0.001)


def run_job(db, site_path: str, job_id: str, before_open: Callable[[], None] | None = None) -> None:
    """Thread body: open a connection, act as an unrestricted system user, run the step."""
    try:
        if before_open is not None:
            before_open()
        with as_system(db, SYSTEM_USER) as app:
            site = app.unrestrictedTraverse(site_path)
            setSite(site)
            job = committed(lambda: begin(site, job_id))
            serve_as(app.REQUEST, site, job.site_url)
            heartbeat = Heartbeat(db, job.pulse._p_oid, f"sync-{job_id}")
            heartbeat.start()
            try:
                job = run_started(site, job)
            finally:
                heartbeat.stop()
            if job.trigger in AUTOMATIC and (job.state == "failed" or job.counts.get("errors")):
                notify_failure(site, job)
                transaction.commit()  # the MailHost sends when the transaction commits
    except Exception:  # noqa: BLE001 -- nothing else can report it
        logger.error("Sync job %s could not run:\n%s", job_id, traceback.format_exc())


def run_started(site, job: Job) -> Job:
    """Run the step of a job marked running; record how it ended, also when the end conflicts."""
    job_id = job.id
    try:
        remote = RemoteStorage(site).get(job.remote)
        if remote is None:
            raise StepRefused(f"The remote {job.remote!r} was deleted.")
        run_step(site, remote, job)
        job.state = "needs-confirmation" if job.pending_deletes else "done"
        job.ended = datetime.now()
        transaction.commit()
        return job
    except Exception as error:  # noqa: BLE001 -- the job records why it stopped
        transaction.abort()
        logger.error("Sync job %s failed:\n%s", job_id, traceback.format_exc())
        reason = error
    return committed(lambda: fail(site, job_id, reason))
