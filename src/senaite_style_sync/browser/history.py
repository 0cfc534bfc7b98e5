"""Run history: every kept job of one Remote (@@sync-history), and one job in full (@@sync-run)."""

from collections import Counter
from datetime import datetime
from typing import Any

from plone.protect import CheckAuthenticator
from plone.protect import PostOnly
from Products.Five.browser import BrowserView
from zExceptions import NotFound

from senaite_style_sync import _
from senaite_style_sync.actions.jobs import step_title
from senaite_style_sync.actions.messages import message
from senaite_style_sync.actions.messages import outcome
from senaite_style_sync.browser.overview import PLAN_LABELS
from senaite_style_sync.browser.overview import STATE_BADGES
from senaite_style_sync.browser.overview import duration_text
from senaite_style_sync.browser.overview import history_url
from senaite_style_sync.browser.overview import run_url
from senaite_style_sync.browser.overview import state_title
from senaite_style_sync.browser.steps import start_from_browser
from senaite_style_sync.browser.utils import requested_remote
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.storage import RemoteStorage


# The counts shown as columns of the history and first on a run page, in this order:
# (key, column title, label after a number).
COUNT_COLUMNS = (
    ("created", _("Created"), _("created")),
    ("updated", _("Updated"), _("updated")),
    ("moved", _("Moved"), _("moved")),
    ("deleted", _("Deleted"), _("deleted")),
    ("conflicts", _("Conflicts"), _("conflicts")),
    ("errors", _("Errors"), _("errors")),
    ("warnings", _("Warnings"), _("warnings")),
)
# Who started a run: a button, the REST API, the Auto-Sync clock, its hook, or cron calling the hook.
TRIGGER_TITLES = {"button": _("button"), "rest": _("rest"), "clock": _("clock"), "hook": _("hook"), "cron": _("cron")}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# The run page's buttons for what a run found: button name -> the step that carries it out.
FOLLOW_UP_BUTTONS = {"confirm_deletions": "delete", "repair": "repair"}


def moment_text(moment: datetime | None) -> str:
    return f"{moment:{TIME_FORMAT}}" if moment else "—"


def duration_of(job: Job, now: datetime | None = None) -> str:
    """How long the job ran (so far, while it runs); an em dash before it started or without an end."""
    if job.started is None:
        return "—"
    if job.ended is None and not job.active:  # interrupted: no end to measure to
        return "—"
    end = job.ended or now or datetime.now()
    seconds = (end - job.started).total_seconds()
    if seconds < 1:
        return "< 1 s" if seconds >= 0 else "—"
    return duration_text(seconds)


def error_count(job: Job) -> int:
    return job.counts.get("errors", 0)


def job_row(site, job: Job, request) -> dict[str, Any]:
    """One job as a line of the history (and the head of its run page)."""
    state = job.shown_state
    return {
        "id": job.id,
        "url": run_url(site, job),
        "step": job.step,
        "step_title": step_title(job.step),
        "trigger": job.trigger,
        "trigger_title": TRIGGER_TITLES.get(job.trigger, job.trigger),
        "since": job.since,
        "created": moment_text(job.created),
        "started": moment_text(job.started),
        "ended": moment_text(job.ended),
        "duration": duration_of(job),
        "state": state,
        "state_title": state_title(state),
        "badge": STATE_BADGES.get(state, "bg-info"),
        "message": outcome(job.message, request) if job.message else "",
        "counts": [
            {"key": key, "label": label, "count": error_count(job) if key == "errors" else job.counts.get(key, 0)}
            for key, _title, label in COUNT_COLUMNS
        ],
    }


class SyncHistoryView(BrowserView):
    """@@sync-history?remote=<name>: the remote's runs, newest first."""

    count_columns = COUNT_COLUMNS

    def __call__(self) -> str:
        self.remote = requested_remote(self.context, self.request)
        return self.index()

    def sync_url(self) -> str:
        return f"{self.context.absolute_url()}/@@sync"

    def rows(self) -> list[dict[str, Any]]:
        return [job_row(self.context, job, self.request) for job in JobStore(self.context).history(self.remote.name)]


class SyncRunView(BrowserView):
    """@@sync-run?job=<id>: one job with all its fields, counts, plan and errors; 404 for an unknown id.

    POST with ``confirm_deletions`` (and the CSRF token) carries out the deletions the run held back.
    """

    def __call__(self) -> str:
        job_id = self.request.form.get("job", "")
        self.job = JobStore(self.context).get(job_id) if isinstance(job_id, str) and job_id else None
        if self.job is None:
            raise NotFound(f"No job {job_id!r}.")
        step = next((step for button, step in FOLLOW_UP_BUTTONS.items() if button in self.request.form), None)
        if self.request.method == "POST" and step:
            PostOnly(self.request)
            CheckAuthenticator(self.request)
            return self.follow_up(step)
        return self.index()

    def follow_up(self, step: str) -> str:
        """Start the job that carries out what this run found; show its run page."""
        remote = RemoteStorage(self.context).get(self.job.remote)
        if remote is None:
            raise NotFound(f"No remote named {self.job.remote!r}.")
        job = start_from_browser(self.context, self.request, remote, step, confirms=self.job.id)
        self.request.response.redirect(run_url(self.context, job or self.job))
        return ""

    def sync_url(self) -> str:
        return f"{self.context.absolute_url()}/@@sync"

    def history_url(self) -> str:
        """The history of the job's remote; "" when the remote has been deleted since."""
        if RemoteStorage(self.context).get(self.job.remote) is None:
            return ""
        return history_url(self.context, self.job.remote)

    def data(self) -> dict[str, Any]:
        job = self.job
        row = job_row(self.context, job, self.request)
        main = {column[0] for column in COUNT_COLUMNS}
        row["other_counts"] = [{"key": key, "count": job.counts[key]} for key in sorted(job.counts) if key not in main]
        labels = dict(PLAN_LABELS)
        plan_keys = [key for key, _label in PLAN_LABELS if key in job.plan]
        plan_keys += sorted(key for key in job.plan if key not in labels)
        row["plan"] = [{"key": key, "label": labels.get(key, key), "count": job.plan[key]} for key in plan_keys]
        progress = job.progress()
        row["progress"] = f"{progress['done']}/{progress['total']} ({progress['percent']}%)"
        row["remote"] = job.remote
        row["site_url"] = job.site_url
        # Each in the user's language where the text is a known one (actions/messages.py).
        row["errors"] = [entry | {"message": message(entry["message"])} for entry in job.errors]
        row["warnings"] = [entry | {"message": message(entry["message"])} for entry in job.warnings]
        row["pending_deletes"] = [{"uid": uid, "path": path} for uid, path in job.pending_deletes]
        row["confirmed_by"] = job.confirmed_by
        row["differences"] = list(job.differences)
        row["difference_counts"] = sorted(Counter(d["category"] for d in job.differences).items())
        row["confirmed_by_url"] = run_url(self.context, JobStore(self.context).get(job.confirmed_by) or job)
        row["error_count"] = error_count(job)
        row["errors_dropped"] = max(0, row["error_count"] - len(row["errors"]))
        return row
