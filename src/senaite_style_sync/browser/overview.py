"""The Sync page: every Remote with its settings, a compact status, its plan, latest job and grouped buttons."""

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from Products.Five.browser import BrowserView
from zope.component import getUtility
from zope.i18n import translate
from zope.schema.interfaces import IVocabularyFactory

from senaite_style_sync import _
from senaite_style_sync.actions.jobs import STEP_TITLES
from senaite_style_sync.actions.jobs import job_data
from senaite_style_sync.actions.jobs import latest_job
from senaite_style_sync.actions.jobs import step_title
from senaite_style_sync.actions.messages import message
from senaite_style_sync.actions.messages import outcome
from senaite_style_sync.browser.remote_actions import MORE_ACTIONS
from senaite_style_sync.jobs.schedule import next_run
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.remote import Remote
from senaite_style_sync.model.schema import TYPE_RULE_FIELDS
from senaite_style_sync.model.schema import TYPES_VOCABULARY
from senaite_style_sync.model.schema import IRemote
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.model.validation import cleartext_warning


PLAN_LABELS = (
    ("create", _("to create")),
    ("update", _("to update")),
    ("recheck", _("to re-read")),
    ("move", _("to move")),
    ("delete", _("to delete")),
    ("conflicts", _("conflicts")),
    ("unchanged", _("unchanged")),
)
# What an Import or Get Updates did of the plan: the counts of its run, in this order.
DONE_LABELS = (
    ("created", _("created")),
    ("updated", _("updated")),
    ("moved", _("moved")),
    ("deleted", _("deleted")),
    ("conflicts", _("conflicts")),
    ("errors", _("errors")),
)
APPLYING_STEPS = ("import", "update", "bundle")  # an import from file applies a plan too
APPLIED_STATES = ("done", "needs-confirmation")
STATE_TITLES = {
    "queued": _("queued"),
    "running": _("running"),
    "done": _("done"),
    "needs-confirmation": _("needs confirmation"),
    "failed": _("failed"),
    "interrupted": _("interrupted"),
}
# Errors listed on the page; the job keeps more, GET @sync-jobs/<id> returns them all.
SHOWN_ERRORS = 100


def type_rules_summary(remote: Remote, type_titles: dict[str, str]) -> list[str]:
    """One line per type rule that is set, naming types by title; no full-sync types means all types."""
    lines = []
    for field_name in TYPE_RULE_FIELDS:
        types = getattr(remote, field_name)
        if types:
            names = ", ".join(type_titles.get(t, t) for t in types)
            lines.append(_("${rule}: ${types}", mapping={"rule": IRemote[field_name].title, "types": names}))
    if not remote.full_sync_types:
        lines.insert(0, _("Full sync: all types"))
    return lines


def last_run_summary(remote: Remote, step: str) -> str:
    run = remote.last_runs.get(step)
    if not run:
        return _("never")
    return _(
        "${time} — ${outcome} (${count} items)",
        mapping={"time": f"{run['time']:%Y-%m-%d %H:%M}", "outcome": message(run["outcome"]), "count": run["count"]},
    )


def state_title(state: str) -> str:
    return STATE_TITLES.get(state, state)


def plan_summary(remote: Remote) -> list[dict[str, Any]]:
    """The counts of the remote's last plan, in a fixed order; empty before the first Fetch."""
    plan = getattr(remote, "last_plan", None) or {}
    if not plan:
        return []
    labels = dict(PLAN_LABELS)
    keys = [key for key, _label in PLAN_LABELS if key in plan or key != "recheck"]
    keys += sorted(key for key in plan if key not in labels)
    return [{"key": key, "label": labels.get(key, key), "count": plan.get(key, 0)} for key in keys]


def plan_done(site, remote: Remote) -> dict[str, Any] | None:
    """The Import, Get Updates or Import from file run that applied the last plan, with its
    counts; None while it waits.

    The newest run of Fetch or of those that ended (done, or waiting for deletions to be
    confirmed) tells: a Fetch planned anew, the others applied the plan.
    """
    for job in JobStore(site).history(remote.name):
        if job.step in ("fetch",) + APPLYING_STEPS and job.shown_state in APPLIED_STATES:
            if job.step == "fetch":
                return None
            return {
                "url": run_url(site, job),
                "step_title": step_title(job.step),
                "ended": f"{job.ended:%Y-%m-%d %H:%M}" if job.ended else "—",
                "counts": [{"key": key, "label": label, "count": job.counts.get(key, 0)} for key, label in DONE_LABELS],
            }
    return None


def duration_text(seconds: float | int | None) -> str:
    """12 s, 3 min 5 s, 1 h 2 min; an em dash for nothing to say."""
    if not seconds or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def job_summary(site, job, request) -> dict[str, Any] | None:
    """What the page shows of a job; the same keys the page's script reads from @sync-jobs."""
    if job is None:
        return None
    data = job_data(site, job)
    progress = data["progress"]
    active = data["state"] in ("queued", "running")
    return {
        "id": data["id"],
        "url": data["@id"],
        "step": data["step"],
        "step_title": step_title(data["step"]),
        "trigger": data["trigger"],
        "since": data.get("since") or "",
        "state": data["state"],
        "state_title": state_title(data["state"]),
        "active": active,
        "done": progress["done"],
        "total": progress["total"],
        "percent": progress["percent"],
        "rate": progress["rate"],
        "eta": duration_text(progress["eta_seconds"]) if active else "—",
        "message": data["message"],
        "created": data["created"][:19].replace("T", " "),
        "ended": (data["ended"] or "")[:19].replace("T", " "),
        "outcome": outcome(data["message"], request) if data["message"] else state_title(data["state"]),
        "error_count": data["counts"].get("errors", len(data["errors"])),
        "errors": data["errors"][:SHOWN_ERRORS],
    }


STATE_BADGES = {
    "done": "bg-success",
    "needs-confirmation": "bg-warning",
    "failed": "bg-danger",
    "interrupted": "bg-danger",
}
ENDED_STATES = ("done", "needs-confirmation", "failed", "interrupted")


def run_url(site, job: Job) -> str:
    """The job's run page."""
    return f"{site.absolute_url()}/@@sync-run?{urlencode({'job': job.id})}"


def history_url(site, remote_name: str) -> str:
    """The remote's run history page."""
    return f"{site.absolute_url()}/@@sync-history?{urlencode({'remote': remote_name})}"


def last_run(site, remote: Remote, request) -> dict[str, Any] | None:
    """The remote's newest ended job (done, failed or interrupted): step, end, outcome, errors, link; or None."""
    for job in JobStore(site).history(remote.name):
        state = job.shown_state
        if state in ENDED_STATES:
            return {
                "id": job.id,
                "url": run_url(site, job),
                "step_title": step_title(job.step),
                "ended": f"{job.ended:%Y-%m-%d %H:%M}" if job.ended else "—",
                "state": state,
                "state_title": state_title(state),
                "badge": STATE_BADGES.get(state, "bg-info"),
                "outcome": outcome(job.message, request) if job.message else state_title(state),
                "errors": job.counts.get("errors", 0),
            }
    return None


def next_run_text(remote: Remote, now: datetime | None = None) -> str:
    """When Auto-Sync next starts Get Updates; "" with Auto-Sync off."""
    if not remote.auto_sync:
        return ""
    due_at = next_run(remote)
    if due_at is None:
        return _("next run at the next clock tick")
    mapping = {"time": f"{due_at:%Y-%m-%d %H:%M}"}
    if due_at <= (now or datetime.now()):
        return _("next run at ${time} (overdue: at the next clock tick)", mapping=mapping)
    return _("next run at ${time}", mapping=mapping)


class SyncOverview(BrowserView):
    """@@sync"""

    steps = STEP_TITLES
    more_actions = MORE_ACTIONS

    def state_titles(self) -> str:
        """The job states' titles in the user's language, as JSON for the page's script."""
        return json.dumps({state: translate(title, context=self.request) for state, title in STATE_TITLES.items()})

    def rows(self) -> list[dict[str, Any]]:
        vocabulary = getUtility(IVocabularyFactory, TYPES_VOCABULARY)(self.context)
        type_titles = {term.value: term.title for term in vocabulary}
        site, request = self.context, self.request
        return [
            {
                "name": remote.name,
                "url": remote.url,
                "cleartext": message(cleartext_warning(remote.url) or ""),
                "remote_prefix": remote.remote_prefix or "—",
                "local_prefix": remote.local_prefix or "—",
                "rules": type_rules_summary(remote, type_titles),
                "auto_sync": (
                    _("every ${minutes} min", mapping={"minutes": remote.auto_sync_interval})
                    if remote.auto_sync
                    else _("off")
                ),
                "next_run": next_run_text(remote),
                "last_run": last_run(site, remote, request),
                "history_url": history_url(site, remote.name),
                "last_runs": [(STEP_TITLES[step], last_run_summary(remote, step)) for step in STEP_TITLES],
                "plan": plan_summary(remote),
                "plan_done": plan_done(site, remote),
                "conflicts": len(remote.state.conflicts),
                "job": job_summary(site, latest_job(site, remote), request),
            }
            for remote in RemoteStorage(site)
        ]
