"""Crash recovery: when an instance starts, the jobs its previous process left queued or running are
marked interrupted at once, and started again unless zope.conf says ``auto-resume off``::

    <product-config senaite_style_sync>
        auto-resume off
    </product-config>

Only jobs of this instance (jobs/process.py) are touched: a job of another client of a ZEO
cluster keeps its lock until its heartbeat expires. Sites are looked for at the root of the
Zope application.
"""

import logging
from datetime import datetime

import transaction
from Products.CMFCore.interfaces import ISiteRoot
from ZODB.POSException import ConflictError
from zope.component.hooks import setSite

from senaite_style_sync.config import product_config
from senaite_style_sync.jobs.process import instance_id
from senaite_style_sync.jobs.process import process_id
from senaite_style_sync.jobs.runner import FOLLOW_UPS
from senaite_style_sync.jobs.runner import JobRefused
from senaite_style_sync.jobs.runner import start_job
from senaite_style_sync.jobs.system import as_system
from senaite_style_sync.model.jobs import SYSTEM_USER
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.storage import RemoteStorage


logger = logging.getLogger("senaite_style_sync")
RESUME_TRIGGER = "resume"
RETRIES = 3


def auto_resume(config: dict[str, str]) -> bool:
    return str(config.get("auto-resume", "on")).strip().lower() not in ("off", "false", "no", "0")


def recover_jobs(event) -> None:
    """IDatabaseOpenedWithRoot: recover this instance's jobs (a failure must not stop the start)."""
    try:
        recover(event.database)
    except Exception:  # noqa: BLE001 -- the instance starts anyway; the locks expire by heartbeat
        logger.exception("Recovering the interrupted sync jobs failed")


def recover(db) -> list[Job]:
    """Mark this instance's orphaned jobs interrupted (and resume them); returns the new jobs."""
    resume = auto_resume(product_config())
    with as_system(db, SYSTEM_USER) as app:
        for _attempt in range(RETRIES):
            try:
                started = [job for site in sites(app) for job in recover_site(site, resume)]
                transaction.commit()
                return started
            except ConflictError:
                transaction.abort()  # another client wrote a remote meanwhile: look again
        logger.warning("Recovering the interrupted sync jobs gave up after %s write conflicts.", RETRIES)
        return []


def sites(app) -> list:
    return [obj for obj in app.objectValues() if ISiteRoot.providedBy(obj)]


def recover_site(site, resume: bool) -> list[Job]:
    setSite(site)
    here, now = instance_id(), process_id()
    started = []
    for job in JobStore(site).unfinished():
        if job.instance != here or job.process == now:
            continue
        job.state = "interrupted"
        job.ended = datetime.now()
        job.message = "Interrupted: the instance that ran it stopped."
        logger.info("Sync job %s (%s of %s) was interrupted by a restart.", job.id, job.step, job.remote)
        if resume and (new := resume_job(site, job)) is not None:
            started.append(new)
    return started


def resume_job(site, job: Job) -> Job | None:
    """Start ``job``'s step again for its remote, if it was the remote's latest job."""
    remote = RemoteStorage(site).get(job.remote)
    if remote is None or remote.active_job != job.id:
        return None
    if job.step in FOLLOW_UPS:
        held = JobStore(site).get(job.confirms)
        if held is not None and held.confirmed_by == job.id:
            held.confirmed_by = ""  # the interrupted job did not finish what it took on
    try:
        new = start_job(site, remote, job.step, RESUME_TRIGGER, since=job.since, confirms=job.confirms)
    except JobRefused as refused:
        job.message += f" Not resumed: {refused}"
        return None
    new.site_url = job.site_url
    new.bundle = job.bundle  # an import from file applies the same file, still there
    job.message += f" Resumed as job {new.id}."
    return new
