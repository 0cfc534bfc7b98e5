"""Conflicts, for the conflicts page and the REST services alike: read them, settle them."""

import json
from typing import Any

from senaite_style_sync import _
from senaite_style_sync.actions.messages import message
from senaite_style_sync.jobs.runner import JobRefused
from senaite_style_sync.jobs.runner import start_job
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.remote import Remote
from senaite_style_sync.model.state import Conflict
from senaite_style_sync.sync.conflicts import keep_local as keep_local_version
from senaite_style_sync.sync.conflicts import merge_fields
from senaite_style_sync.sync.conflicts import mergeable_fields
from senaite_style_sync.sync.local import LocalSite
from senaite_style_sync.sync.readonly import sync_writes
from senaite_style_sync.sync.removal import delete_copy
from senaite_style_sync.sync.writer import Applier


TAKE_CHOICES = ("remote", "local", "fields")


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
            with sync_writes():  # a read-only copy too: this is the sync's deletion, asked for by a user
                delete_copy(Applier(site, remote, request, peer_base=remote.url), uid)
        del state.conflicts[uid]
        state.resolutions.pop(uid, None)
        return None, _("The local copy of ${path} was deleted, as it is on the peer.", mapping={"path": conflict.path})
    if state.resolutions.get(uid) != "remote":
        state.resolutions[uid] = "remote"
    try:
        job = start_job(site, remote, "import", trigger)
    except JobRefused as refused:
        return None, _(
            "The remote version of ${path} will be taken by the next Import or Get Updates: ${reason}",
            mapping={"path": conflict.path, "reason": message(str(refused))},
        )
    return job, _(
        "Taking the remote version of ${path}: Import started for '${remote}'.",
        mapping={"path": conflict.path, "remote": remote.name},
    )


def keep_local(site, remote: Remote, uid: str, request) -> str:
    """Settle a conflict for the local version: it stays and counts as in step with the peer.

    For an object the peer deleted, the local copy stays and is no longer synced.
    """
    conflict = get_conflict(remote, uid)
    state = remote.state
    keep_local_version(Applier(site, remote, request, peer_base=remote.url), uid)
    state.conflicts.pop(uid, None)
    state.resolutions.pop(uid, None)
    return _("The local version of ${path} was kept.", mapping={"path": conflict.path})


class NotMergeable(ValueError):
    """The fields asked for cannot be taken from the peer one by one (the message says which)."""


def mergeable(site, remote: Remote, uid: str) -> set[str]:
    """The fields of a conflict's local object that can take the peer's value one by one."""
    conflict = get_conflict(remote, uid)
    remote_data = parsed(conflict.remote_version)
    synced = remote.state.synced.get(uid)
    # Only this remote's copy: a local object it never synced is settled whole, or left alone.
    obj = LocalSite(site).find(uid, synced) if synced is not None else None
    if obj is None or remote_data is None:
        return set()
    return mergeable_fields(obj, remote_data)


def merge(site, remote: Remote, uid: str, fields: Any, request) -> str:
    """Settle a conflict field by field: the peer's values of ``fields``, the local ones of the
    rest. The result is a version of this site that descends from both: the peer takes it on
    its next pull, no new conflict."""
    conflict = get_conflict(remote, uid)
    allowed = mergeable(site, remote, uid)
    if not isinstance(fields, list) or not fields or not all(isinstance(name, str) for name in fields):
        raise NotMergeable(_("Name the fields to take from the peer."))
    if unknown := sorted(set(fields) - allowed):
        raise NotMergeable(
            _(
                "These cannot be taken from the peer one by one: ${fields}.",
                mapping={"fields": ", ".join(name[:80] for name in unknown[:20])},
            )
        )
    merge_fields(Applier(site, remote, request, peer_base=remote.url), uid, set(fields))
    remote.state.resolutions.pop(uid, None)
    return _(
        "${path}: ${fields} taken from the peer, the rest kept.",
        mapping={"path": conflict.path, "fields": ", ".join(sorted(fields))},
    )
