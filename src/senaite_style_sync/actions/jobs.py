"""Steps and jobs, for the buttons and the REST services alike: titles, "modified since", job URLs and data."""

from datetime import UTC
from datetime import datetime
from typing import Any

from senaite_style_sync import _
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.remote import Remote


STEP_TITLES = {"fetch": _("Fetch"), "import": _("Import"), "update": _("Get Updates"), "verify": _("Verify")}
BAD_SINCE = _("Give the date and time as YYYY-MM-DD HH:MM (for example 2026-11-20 10:00).")
MISSING_SINCE = _("Give the date and time from which to re-read the peer's objects.")


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
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


# Steps that are no button of their own: shown by these titles.
OTHER_STEP_TITLES = {
    "delete": _("Confirmed deletions"),
    "repair": _("Repair"),
    "export": _("Export to file"),
    "bundle": _("Import from file"),
    "push": _("Push"),
}


def step_title(step: str) -> str:
    return STEP_TITLES.get(step) or OTHER_STEP_TITLES.get(step, step)


def started_message(job: Job, remote: Remote) -> str:
    return _("${step} started for '${remote}'.", mapping={"step": step_title(job.step), "remote": remote.name})


def latest_job(site, remote: Remote) -> Job | None:
    """The job most recently started for the remote, active or not."""
    return JobStore(site).get(getattr(remote, "active_job", "") or "")


def job_url(site, job: Job) -> str:
    return f"{site.absolute_url()}/@sync-jobs/{job.id}"


def job_data(site, job: Job) -> dict[str, Any]:
    return {"@id": job_url(site, job), **job.as_dict()}
