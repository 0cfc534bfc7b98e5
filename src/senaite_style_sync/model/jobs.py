"""Job records, kept on the site so progress and outcome survive restarts and are visible to every client."""

import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from BTrees.OOBTree import OOBTree
from persistent import Persistent
from persistent.list import PersistentList
from persistent.mapping import PersistentMapping
from zope.annotation.interfaces import IAnnotations


ANNOTATION_KEY = "senaite_style_sync.jobs"
# Run history: the latest jobs of each remote are kept, with their counts and errors.
KEEP_PER_REMOTE = 200
# A running job whose heartbeat is older than this is taken as dead (its instance was killed).
STALE_AFTER = 120
UNFINISHED = ("queued", "running")
# The unrestricted users the jobs and the Auto-Sync clock act as (never a user of the site).
SYSTEM_USER = "senaite_style_sync"
CLOCK_USER = "senaite_style_sync-clock"
SYSTEM_USERS = frozenset({SYSTEM_USER, CLOCK_USER})
MAX_ERRORS = 1000
MAX_DIFFERENCES = 10000
# Characters kept of each text a run records: a peer's answer may be any size.
MAX_MESSAGE = 2000
MAX_LABEL = 500


def capped(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Pulse(Persistent):
    """The heartbeat a running job's heartbeat thread writes: a record apart from the Job, so
    that it moves without ever conflicting with the job's own commits."""

    def __init__(self) -> None:
        self.at = time.time()


class Job(Persistent):
    """One run of one step for one remote."""

    # Defaults for jobs stored before these existed.
    warnings: Sequence[dict[str, str]] = ()
    # (remote UID, path) of copies a run held back from deleting, waiting for a user's yes
    pending_deletes: Sequence[tuple[str, str]] = ()
    confirms = ""  # for a "delete" job: the id of the job whose held deletions it carries out
    confirmed_by = ""  # the "delete" (or "repair") job that carried out this job's held deletions (differences)
    # for a "verify" job: each way a copy differs from the peer's object (uid, path, category, detail)
    differences: Sequence[dict[str, str]] = ()
    pulse: Pulse | None = None
    instance = ""  # the Zope instance that runs the job (jobs/process.py), stable across its restarts
    process = ""  # the process of that instance that runs it (a new one at each start)
    bundle = ""  # an export's file, or the file an import from file applies (removed once applied)

    def __init__(self, remote: str, step: str, trigger: str, since: str = "", confirms: str = "") -> None:
        self.id = uuid.uuid4().hex
        self.remote = remote
        self.step = step
        self.trigger = trigger
        self.since = since
        self.site_url = ""
        self.state = "queued"  # queued, running, done, needs-confirmation, failed, interrupted
        self.created = datetime.now()
        self.started: datetime | None = None
        self.ended: datetime | None = None
        self.heartbeat = time.time()
        self.total = 0
        self.done = 0
        self.counts = PersistentMapping()
        self.plan = PersistentMapping()
        self.errors = PersistentList()
        self.warnings = PersistentList()
        self.differences = PersistentList()
        self.confirms = confirms
        self.message = ""
        self.pulse = Pulse()

    @property
    def shown_state(self) -> str:
        """The state to report: a queued or running job whose heartbeat stopped was interrupted."""
        return self.state if self.state not in UNFINISHED or self.active else "interrupted"

    @property
    def last_beat(self) -> float:
        """When the job was last known alive: its last commit or its heartbeat thread's last beat."""
        return max(self.heartbeat, self.pulse.at if self.pulse is not None else 0.0)

    @property
    def active(self) -> bool:
        return self.state in UNFINISHED and time.time() - self.last_beat < STALE_AFTER

    def add_error(self, obj: str, step: str, message: str) -> None:
        self.counts["errors"] = self.counts.get("errors", 0) + 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"object": capped(obj, MAX_LABEL), "step": step, "message": capped(message)})

    def add_warning(self, obj: str, step: str, message: str) -> None:
        """Something the run did not do or did differently, though nothing failed."""
        self.counts["warnings"] = self.counts.get("warnings", 0) + 1
        if len(self.warnings) < MAX_ERRORS:
            self.warnings.append({"object": capped(obj, MAX_LABEL), "step": step, "message": capped(message)})

    def add_difference(self, uid: str, obj: str, category: str, detail: str) -> None:
        self.counts["differences"] = self.counts.get("differences", 0) + 1
        if len(self.differences) < MAX_DIFFERENCES:
            self.differences.append(
                {"uid": uid, "object": capped(obj, MAX_LABEL), "category": category, "detail": capped(detail)}
            )

    def count(self, outcome: str, n: int = 1) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + n

    def progress(self) -> dict[str, Any]:
        elapsed = ((self.ended or datetime.now()) - self.started).total_seconds() if self.started else 0.0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        remaining = (self.total - self.done) / rate if rate > 0 and self.total > self.done else 0.0
        return {
            "done": self.done,
            "total": self.total,
            "percent": round(100 * self.done / self.total) if self.total else (100 if self.state == "done" else 0),
            "rate": round(rate, 1),
            "eta_seconds": round(remaining),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "remote": self.remote,
            "step": self.step,
            "trigger": self.trigger,
            "since": self.since,
            "state": self.shown_state,
            "created": self.created.isoformat(),
            "started": self.started.isoformat() if self.started else None,
            "ended": self.ended.isoformat() if self.ended else None,
            "progress": self.progress(),
            "counts": dict(self.counts),
            "plan": dict(self.plan),
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "differences": list(self.differences),
            "pending_deletes": [{"uid": uid, "path": path} for uid, path in self.pending_deletes],
            "confirms": self.confirms,
            "confirmed_by": self.confirmed_by,
            "message": self.message,
        }


class JobStore:
    """The site's jobs by id; reading never writes."""

    def __init__(self, site) -> None:
        self.annotations = IAnnotations(site)

    def get(self, job_id: str) -> Job | None:
        tree = self.annotations.get(ANNOTATION_KEY)
        return tree.get(job_id) if tree is not None and isinstance(job_id, str) else None

    def clear(self) -> None:
        self.annotations.pop(ANNOTATION_KEY, None)

    def unfinished(self) -> list[Job]:
        """Every job still queued or running, whatever its heartbeat."""
        tree = self.annotations.get(ANNOTATION_KEY)
        return [job for job in (tree.values() if tree is not None else ()) if job.state in UNFINISHED]

    def history(self, remote: str) -> list[Job]:
        """The remote's jobs, newest first."""
        tree = self.annotations.get(ANNOTATION_KEY)
        jobs = [job for job in (tree.values() if tree is not None else ()) if job.remote == remote]
        return sorted(jobs, key=lambda job: job.created, reverse=True)

    def add(self, job: Job) -> None:
        tree = self.annotations.get(ANNOTATION_KEY)
        if tree is None:
            tree = self.annotations[ANNOTATION_KEY] = OOBTree()
        tree[job.id] = job
        for old in self.history(job.remote)[KEEP_PER_REMOTE:]:
            if not old.active:
                del tree[old.id]
