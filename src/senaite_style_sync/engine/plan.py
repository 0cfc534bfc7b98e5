"""Compare the peer's index with what was synced and what is here: a plan, before anything is written."""

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from senaite_style_sync.engine.local import LocalSite
from senaite_style_sync.state.sync_state import SyncState


@dataclass
class Plan:
    """Remote UIDs per action. create/update/move are parents first; delete is children first."""

    create: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    move: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    unchanged: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "create": len(self.create),
            "update": len(self.update),
            "move": len(self.move),
            "delete": len(self.delete),
            "conflicts": len(self.conflicts),
            "unchanged": self.unchanged,
        }

    @property
    def total(self) -> int:
        return len(self.create) + len(self.update) + len(self.move) + len(self.delete)


def make_plan(
    state: SyncState,
    local: LocalSite,
    *,
    policy: str = "skip",
    force: Callable[[str], bool] = lambda uid: False,
) -> Plan:
    """``force(uid)`` re-reads an object even when its listing looks unchanged (manual "modified since")."""
    plan = Plan()
    depth = {uid: entry.path.count("/") for uid, entry in state.index.items()}
    for uid, entry in state.index.items():
        synced = state.synced.get(uid)
        obj = local.find(uid, synced, entry.portal_type)
        if synced is None:
            if obj is None:
                if entry.role != "update-only":
                    plan.create.append(uid)
                continue
            plan.update.append(uid)  # an object that already is here (update-only originals, earlier copies)
            continue
        if obj is None:
            plan.create.append(uid)  # deleted here, still on the peer: bring it back
            continue
        remote_changed = (
            entry.modified != synced.remote_modified or entry.review_state != synced.remote_state or force(uid)
        )
        moved = entry.path != synced.remote_path
        settled_for_peer = state.resolutions.get(uid) == "remote"
        if remote_changed and not settled_for_peer and local.changed_since_sync(obj, synced) and policy != "remote":
            if policy == "skip":
                plan.conflicts.append(uid)
            else:
                plan.unchanged += 1  # "local" wins: keep the local version
            continue
        if remote_changed or settled_for_peer:
            plan.update.append(uid)
        elif moved:
            plan.move.append(uid)
        else:
            plan.unchanged += 1
    for uid, synced in state.synced.items():
        if uid in state.index:
            continue
        obj = local.find(uid, synced)
        if obj is None:
            continue
        if local.changed_since_sync(obj, synced) and policy == "skip":
            plan.conflicts.append(uid)
        elif not (policy == "local" and local.changed_since_sync(obj, synced)):
            plan.delete.append(uid)
    parents_first = lambda uid: (depth[uid], state.index[uid].position)  # noqa: E731
    plan.create.sort(key=parents_first)
    plan.update.sort(key=parents_first)
    plan.move.sort(key=parents_first)
    plan.delete.sort(key=lambda uid: -state.synced[uid].remote_path.count("/"))
    return plan
