"""How a copy that is here takes the peer's version: by revision (a peer with this add-on) or,
from a stock peer, by comparing its JSON with what was written last."""

from senaite_style_sync.sync.conflicts import record_conflict
from senaite_style_sync.sync.dates import set_dates
from senaite_style_sync.sync.fetched import Fetched
from senaite_style_sync.sync.revision import Revision
from senaite_style_sync.sync.revision import merged
from senaite_style_sync.sync.revision import relation
from senaite_style_sync.sync.revision import store_revision


def stance(current: Revision | None, remote_rev: Revision | None, synced) -> str | None:
    """The peer's revision against the one here: "same", "behind", "ahead", "diverged"; None
    without both (a stock peer)."""
    if current is None or remote_rev is None:
        return None
    found = relation(current, remote_rev)
    if found == "diverged" and synced is not None and current.fingerprint == synced.local_fingerprint:
        # Not edited here since this remote last wrote it: whatever the peer has now is newer
        # (its lineage may just be too long or too old to name the version written here).
        return "ahead"
    return found


def by_revision(
    applier,
    remote_uid: str,
    obj,
    synced,
    fetched: Fetched,
    *,
    current: Revision,
    remote_rev: Revision,
    found: str,
    force: bool,
) -> str:
    """``found``: the ``stance`` of ``remote_rev`` against ``current``. The same or an older
    version writes nothing, one that descends from the local one is written, one that diverged
    is a conflict (unless the policy or the user's decision settles it)."""
    entry = applier.state.index[remote_uid]
    decided = applier.state.resolutions.get(remote_uid) == "remote"
    if found == "same" and not force:
        outcome = "unchanged"
        if synced is not None and entry.role != "update-only":
            obj = applier.relocate(obj, entry.path, entry.portal_type)
        # Ours (the peer's ancestors are not taken); record() stores it with the fingerprint after the move.
        store_revision(obj, current, current.fingerprint)
        if set_dates(obj, fetched.data):  # re-dated there (a move re-dates what it moves)
            applier.indexing.add(remote_uid, obj)
            outcome = "updated"
        applier.record(remote_uid, obj, entry, fetched.token, written=True)
        applier.state.conflicts.pop(remote_uid, None)  # settled (here or on the peer)
        return outcome
    if found == "behind" and not decided:
        # The peer has not seen the version here yet: nothing to write, and the change made
        # here stays a revision of this site's (never stored under the peer's older one).
        # No conflict policy applies: nothing changed on both sides.
        applier.record(remote_uid, obj, entry, fetched.token, keep_local_stamp=True)
        applier.state.conflicts.pop(remote_uid, None)
        return "unchanged"
    policy = applier.remote.conflict_policy
    if found == "diverged" and not (decided or policy == "remote"):
        if policy == "local":
            store_revision(obj, merged(current, remote_rev, applier.site_id, current.fingerprint), current.fingerprint)
            applier.local.revised(obj)
            applier.record(remote_uid, obj, entry, fetched.token, keep_local_stamp=True)
            applier.state.conflicts.pop(remote_uid, None)
            return "unchanged"
        record_conflict(applier, remote_uid, obj, fetched.data)
        return "conflict"
    if entry.role != "update-only":
        obj = applier.relocate(obj, entry.path, entry.portal_type)
    applier.write_content(remote_uid, obj, entry, fetched, "updated", remote_rev)
    return "updated"


def by_content(applier, remote_uid: str, obj, synced, fetched: Fetched, force: bool) -> str:
    """From a peer that serves no revisions: its JSON against what was written last; an object
    edited here since is overwritten only when the conflict policy (or the user) says the peer wins."""
    entry = applier.state.index[remote_uid]
    token = fetched.token
    edited_here = synced is not None and applier.local.changed_since_sync(obj, synced)
    if entry.role != "update-only":
        obj = applier.relocate(obj, entry.path, entry.portal_type)
    if synced is not None and synced.token == token and not force:
        applier.record(remote_uid, obj, entry, token, keep_local_stamp=edited_here, written=not edited_here)
        return "unchanged"
    policy = applier.remote.conflict_policy
    peer_wins = policy == "remote" or applier.state.resolutions.get(remote_uid) == "remote"
    if edited_here and not peer_wins:
        if policy == "local":
            applier.record(remote_uid, obj, entry, token, keep_local_stamp=True)
            return "unchanged"
        record_conflict(applier, remote_uid, obj, fetched.data)
        return "conflict"
    applier.write_content(remote_uid, obj, entry, fetched, "updated", None)
    return "updated"
