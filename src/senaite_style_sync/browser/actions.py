"""What the buttons and the REST services do, shared by both: start steps, settle conflicts, read jobs."""

import json
from datetime import datetime
from datetime import timezone
from typing import Any

from senaite_style_sync.engine.apply import Applier
from senaite_style_sync.jobs.runner import JobRefused
from senaite_style_sync.jobs.runner import start_job
from senaite_style_sync.jobs.store import Job
from senaite_style_sync.jobs.store import JobStore
from senaite_style_sync.remotes.remote import Remote
from senaite_style_sync.state.sync_state import Conflict


STEP_TITLES = {"fetch": "Fetch", "import": "Import", "update": "Get Updates"}
TAKE_CHOICES = ("remote", "local")
BAD_SINCE = "Give the date and time as YYYY-MM-DD HH:MM (for example 2026-11-20 10:00)."
MISSING_SINCE = "Give the date and time from which to re-read the peer's objects."


class InvalidSince(ValueError):
    """A "modified since" value that is not a date and time."""


def normalise_since(text: Any) -> str:
    """An ISO 8601 date (and time) as the peer writes modification dates: ``YYYY-MM-DDTHH:MM:SS+00:00``.

    A value without a time zone is taken as UTC; one with a time zone is converted to UTC.
    The engine compares the peer's ``modified`` strings with this one, so the form matters.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidSince(MISSING_SINCE)
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError:
        raise InvalidSince(BAD_SINCE) from None
    if moment.year < 1900:
        raise InvalidSince(BAD_SINCE)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


# Steps that are no button of their own: shown by these titles.
OTHER_STEP_TITLES = {"delete": "Confirmed deletions"}


def step_title(step: str) -> str:
    return STEP_TITLES.get(step) or OTHER_STEP_TITLES.get(step, step)


def started_message(job: Job, remote: Remote) -> str:
    return f"{step_title(job.step)} started for '{remote.name}'."


def latest_job(site, remote: Remote) -> Job | None:
    """The job most recently started for the remote, active or not."""
    return JobStore(site).get(getattr(remote, "active_job", "") or "")


def job_url(site, job: Job) -> str:
    return f"{site.absolute_url()}/@sync-jobs/{job.id}"


def job_data(site, job: Job) -> dict[str, Any]:
    return {"@id": job_url(site, job), **job.as_dict()}


# -- conflicts -----------------------------------------------------------------------


def parsed(text: str) -> dict[str, Any] | None:
    """A version's JSON text as data; None when the version could not be read."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def conflict_data(conflict: Conflict) -> dict[str, Any]:
    return {
        "remote_uid": conflict.remote_uid,
        "path": conflict.path,
        "reason": conflict.reason,
        "detected": conflict.detected,
        "remote_version": parsed(conflict.remote_version),
        "local_version": parsed(conflict.local_version),
    }


class ConflictNotFound(KeyError):
    pass


def get_conflict(remote: Remote, uid: str) -> Conflict:
    conflict = remote.state.conflicts.get(uid) if isinstance(uid, str) else None
    if conflict is None:
        raise ConflictNotFound(uid)
    return conflict


def take_remote(site, remote: Remote, uid: str, request, trigger: str) -> tuple[Job | None, str]:
    """Settle a conflict for the peer's version: record the decision, then start an Import.

    Returns (the job or None, a message). When another job of the remote is active the
    decision stays recorded and the next Import or Get Updates applies it.
    """
    conflict = get_conflict(remote, uid)
    state = remote.state
    if uid not in state.index:
        # Deleted on the peer: taking the peer's version means deleting the local copy,
        # one object, at once.
        if uid in state.synced:
            Applier(site, remote, request, peer_base=remote.url).delete(uid)
        del state.conflicts[uid]
        state.resolutions.pop(uid, None)
        return None, f"The local copy of {conflict.path} was deleted, as it is on the peer."
    if state.resolutions.get(uid) != "remote":
        state.resolutions[uid] = "remote"
    try:
        job = start_job(site, remote, "import", trigger)
    except JobRefused as refused:
        return None, (
            f"The remote version of {conflict.path} will be taken by the next Import or Get Updates: {refused}"
        )
    return job, f"Taking the remote version of {conflict.path}: Import started for '{remote.name}'."


def keep_local(site, remote: Remote, uid: str, request) -> str:
    """Settle a conflict for the local version: it stays and counts as in step with the peer.

    For an object the peer deleted, the local copy stays and is no longer synced.
    """
    conflict = get_conflict(remote, uid)
    state = remote.state
    Applier(site, remote, request, peer_base=remote.url).keep_local(uid)
    state.conflicts.pop(uid, None)
    state.resolutions.pop(uid, None)
    return f"The local version of {conflict.path} was kept."
