"""Objects deleted here that the peer still has: they stay deleted unless the peer changed them since.

The tombstone (model/tombstones.py) holds the revision deleted here and the UIDs' lineage;
a peer that serves revisions is judged by it. For a stock peer the JSON written last (the
sync record) tells, and without one the peer's modification date against the deletion's.
"""

from senaite_style_sync.model.state import SyncedEntry
from senaite_style_sync.model.tombstones import Tombstone
from senaite_style_sync.model.tombstones import Tombstones
from senaite_style_sync.sync.fetched import Fetched
from senaite_style_sync.sync.plan import parse_time
from senaite_style_sync.sync.revision import KEPT_ANCESTORS
from senaite_style_sync.sync.revision import Revision


DELETED_HERE = "deleted here, changed on the peer"


def changed_since_deleted(tomb: Tombstone | None, synced, entry, token: str, remote_rev: Revision | None) -> bool:
    """Did the peer change the object after the version deleted here?"""
    if remote_rev is not None and tomb is not None and tomb.revision:
        return remote_rev.id not in tomb.lineage()
    if synced is not None:
        return synced.token != token
    modified = parse_time(entry.modified)
    return tomb is None or modified is None or modified > tomb.deleted


def record_gone(applier, remote_uid: str, local_uid: str, entry, token: str, remote_rev: Revision | None) -> None:
    """Remember the peer's version as seen while the copy stays deleted: a later change of it
    there is compared again (the record has no local object: its local fields are empty)."""
    applier.state.synced[remote_uid] = SyncedEntry(
        local_uid, entry.path, entry.modified, entry.review_state, token, "", "", entry.position, entry.meta
    )
    tombstones = Tombstones(applier.site)
    tomb = tombstones.get(local_uid)
    if remote_rev is not None and tomb is not None and tomb.revision and remote_rev.id not in tomb.lineage():
        ancestors = (remote_rev.id, *tomb.ancestors)[:KEPT_ANCESTORS]  # newest first, as revisions keep them
        tombstones.add(local_uid, tomb._replace(ancestors=ancestors))


def settle_deleted(applier, remote_uid: str, entry, synced, fetched: Fetched, remote_rev: Revision | None) -> str:
    """For an object the peer has and this site deleted: "unchanged" (it stays deleted),
    "conflict" (for the caller to record), or "" (write it here again: never deleted here, or
    the peer wins)."""
    local_uid = synced.local_uid if synced is not None else remote_uid
    tomb = Tombstones(applier.site).get(local_uid)
    if (synced is None and tomb is None) or applier.state.resolutions.get(remote_uid) == "remote":
        return ""
    if not changed_since_deleted(tomb, synced, entry, fetched.token, remote_rev):
        record_gone(applier, remote_uid, local_uid, entry, fetched.token, remote_rev)
        applier.state.conflicts.pop(remote_uid, None)  # settled, here or on the peer
        return "unchanged"
    policy = applier.remote.conflict_policy
    if policy == "remote":
        return ""
    if policy == "local":
        record_gone(applier, remote_uid, local_uid, entry, fetched.token, remote_rev)
        applier.state.conflicts.pop(remote_uid, None)
        return "unchanged"
    return "conflict"
