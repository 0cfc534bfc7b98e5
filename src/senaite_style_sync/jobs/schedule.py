"""Auto-Sync: which remotes are due, and starting their Get Updates (the ``do_auto_sync`` hook's work)."""

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from senaite_style_sync.jobs.runner import active_job
from senaite_style_sync.jobs.runner import start_job
from senaite_style_sync.model.remote import Remote
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.model.validation import MAX_INTERVAL


@dataclass(frozen=True)
class Decision:
    remote: str
    action: str  # started, running, not-due
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"remote": self.remote, "action": self.action, "detail": self.detail}


def next_run(remote: Remote) -> datetime | None:
    """When Auto-Sync next starts Get Updates for ``remote``; None: at the next tick (never ran yet)."""
    last = remote.last_auto_run
    # Bounded as validation bounds it: an interval stored before would overflow the date.
    minutes = min(max(int(remote.auto_sync_interval), 1), MAX_INTERVAL)
    return last + timedelta(minutes=minutes) if last else None


def run_auto_sync(site, trigger: str, now: datetime | None = None) -> list[Decision]:
    """Start Get Updates (Push, for a push Remote) for every remote with Auto-Sync on whose
    interval has elapsed.

    A remote whose job still runs is skipped. Two simultaneous calls cannot both start a
    job for one remote: both write the remote, so one transaction conflicts and, retried,
    finds the other's job running.
    """
    now = now or datetime.now()
    decisions = []
    for remote in RemoteStorage(site):
        if not remote.auto_sync:
            continue
        running = active_job(site, remote)
        due_at = next_run(remote)
        if running is not None:
            decisions.append(Decision(remote.name, "running", f"{running.step} job {running.id} still running"))
        elif due_at is not None and due_at > now:
            decisions.append(Decision(remote.name, "not-due", f"next run at {due_at:%Y-%m-%d %H:%M}"))
        else:
            step = "push" if remote.push else "update"
            job = start_job(site, remote, step, trigger)
            remote.last_auto_run = now
            decisions.append(Decision(remote.name, "started", f"{step} job {job.id}"))
    return decisions
