"""Compare the peer's index with what was synced and what is here: a plan, before anything is written.

The peer's listing gives each object's modification date to the second only, and
transactions commit after the date is taken. So besides objects whose listed date or
state differs from the last sync, objects modified since the last sync's listing minus
an overlap window are re-read ("recheck"); the writer compares their content hash and
writes only what really changed.
"""

from collections.abc import Callable
from collections.abc import Collection
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from senaite_style_sync.model.state import SyncState
from senaite_style_sync.sync.local import LocalSite


OVERLAP = timedelta(minutes=10)


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 date as an aware datetime (UTC when it names no zone); None if empty or bad."""
    try:
        parsed = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed and parsed.tzinfo is None else parsed


@dataclass
class Plan:
    """Remote UIDs per action. Writes and moves are parents first; deletes are children first."""

    create: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    recheck: list[str] = field(default_factory=list)
    move: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    # gone here and on the peer: only the record is left to drop
    forget: list[str] = field(default_factory=list)
    # still on the peer, but outside the scope: the copy stays here, no longer synced
    release: list[str] = field(default_factory=list)
    # folders (peer paths) whose children the peer reordered
    reorder: list[str] = field(default_factory=list)
    # of the objects to re-read, those to write even when their JSON is the same
    force: list[str] = field(default_factory=list)
    unchanged: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "create": len(self.create),
            "update": len(self.update),
            "recheck": len(self.recheck),
            "move": len(self.move),
            "delete": len(self.delete),
            "conflicts": len(self.conflicts),
            "release": len(self.release),
            "reorder": len(self.reorder),
            "unchanged": self.unchanged,
        }


def make_plan(
    state: SyncState,
    local: LocalSite,
    *,
    policy: str = "skip",
    force: Callable[[str], bool] = lambda uid: False,
    only: Collection[str] | None = None,
) -> Plan:
    """``force(uid)`` re-reads an object even when its listing looks unchanged (manual "modified
    since"); ``only``: plan these objects alone (the change feed names what changed), not all."""
    plan = Plan()
    plan_listed(plan, state, local, policy, force, only)
    plan_unlisted(plan, state, local, policy, only)
    plan.delete.sort(key=lambda uid: -state.synced[uid].remote_path.count("/"))
    plan.move.sort(key=lambda uid: state.index[uid].path.count("/"))
    return plan


def plan_listed(
    plan: Plan,
    state: SyncState,
    local: LocalSite,
    policy: str,
    force: Callable[[str], bool],
    only: Collection[str] | None = None,
) -> None:
    """What to do with each object the peer lists in scope."""
    last_sync = parse_time(state.cursor)
    recheck_since = last_sync - OVERLAP if last_sync else None
    reordered = set()
    listed = (
        state.index.items() if only is None else [(uid, state.index[uid]) for uid in sorted(only) if uid in state.index]
    )
    for uid, entry in listed:
        synced = state.synced.get(uid)
        obj = local.find(uid, synced, entry.portal_type)
        if synced is None:
            if obj is None:
                if entry.role != "update-only":
                    plan.create.append(uid)
            elif state.resolutions.get(uid) == "local":
                plan.unchanged += 1  # here, not this remote's, and left alone by the user's decision
            else:
                plan.update.append(uid)  # here already: the writer decides whether it may become the copy
            continue
        modified = parse_time(entry.modified)
        recent = bool(recheck_since and modified and modified >= recheck_since)
        if obj is None:
            plan_deleted_here(plan, state, uid, synced, recent)
            continue
        if entry.position != synced.remote_position:
            reordered.add(entry.path.rpartition("/")[0])
        remote_changed = entry.modified != synced.remote_modified or entry.review_state != synced.remote_state
        if remote_changed and local.changed_since_sync(obj, synced) and state.resolutions.get(uid) != "remote":
            if policy == "skip":
                plan.conflicts.append(uid)
            elif policy == "remote":
                plan.update.append(uid)
            else:
                plan.unchanged += 1  # "local" wins: the local version stays
            continue
        if remote_changed or uid in state.resolutions:
            plan.update.append(uid)
        elif entry.meta and entry.meta != synced.remote_meta:
            plan.recheck.append(uid)  # local roles, layout or default page changed there: write again
            plan.force.append(uid)
        elif force(uid) or recent:
            plan.recheck.append(uid)
        elif entry.path != synced.remote_path:
            # Moved there: a peer that serves revisions (and a digest) is read, as the move
            # made a new revision of the object; from a stock peer, only the path follows.
            (plan.recheck if entry.meta else plan.move).append(uid)
        else:
            plan.unchanged += 1
    plan.reorder = sorted(reordered)


def plan_deleted_here(plan: Plan, state: SyncState, uid: str, synced, recent: bool) -> None:
    """A copy deleted here: read again only when the peer's listing may show a change since."""
    entry = state.index[uid]
    unchanged = (entry.modified, entry.review_state, entry.meta) == (
        synced.remote_modified,
        synced.remote_state,
        synced.remote_meta,
    )
    if not unchanged or state.resolutions.get(uid) == "remote":
        plan.create.append(uid)  # the writer tells whether it comes back (deleted_here.py)
    elif recent:
        # A listed date is to the second: an edit within the second of the last record
        # looks unchanged, so a recent one is read again (the writer compares the content).
        plan.recheck.append(uid)
    else:
        plan.unchanged += 1  # deleted here, unchanged on the peer: stays deleted


def plan_unlisted(
    plan: Plan, state: SyncState, local: LocalSite, policy: str, only: Collection[str] | None = None
) -> None:
    """What to do with each copy whose original the peer no longer lists in scope."""
    synced_items = (
        state.synced.items()
        if only is None
        else [(uid, state.synced[uid]) for uid in sorted(only) if uid in state.synced]
    )
    for uid, synced in synced_items:
        if uid in state.index:
            continue
        obj = local.find(uid, synced)
        if obj is None:
            plan.forget.append(uid)
            continue
        if uid in state.outside:
            plan.release.append(uid)
            continue
        if uid in state.held:
            plan.unchanged += 1  # the peer still names it, in an entry that cannot be read: kept
            continue
        peer_wins = policy == "remote" or state.resolutions.get(uid) == "remote"
        if local.changed_since_sync(obj, synced) and not peer_wins:
            if policy == "skip":
                plan.conflicts.append(uid)
            continue
        plan.delete.append(uid)


def modified_since(remote, since: str) -> Callable[[str], bool]:
    """A test: was the peer's object modified since ``since`` (the manual Get Updates date)?"""
    index = remote.state.index
    since_time = parse_time(since)

    def test(uid: str) -> bool:
        modified = parse_time(index[uid].modified)
        return since_time is not None and modified is not None and modified >= since_time

    return test


def plan_for(
    remote, local: LocalSite, since: str = "", only: Collection[str] | None = None, reread: Collection[str] = ()
) -> Plan:
    """The plan of ``remote`` by its conflict policy; objects modified since ``since``, and those
    in ``reread``, are re-read; with ``only``, of those objects alone."""
    since_test = modified_since(remote, since)
    force = (lambda uid: uid in reread or since_test(uid)) if reread else since_test
    return make_plan(remote.state, local, policy=remote.conflict_policy, force=force, only=only)
