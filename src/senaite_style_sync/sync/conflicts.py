"""Conflicts: keep both versions of an object changed here and on the peer; settle for the local one."""

import json
from datetime import datetime
from typing import Any

from plone.namedfile.interfaces import INamedField
from plone.restapi.interfaces import ISerializeToJson
from zope.component import getMultiAdapter
from zope.event import notify
from zope.lifecycleevent import ObjectModifiedEvent

from senaite_style_sync.model.state import Conflict
from senaite_style_sync.peer import wire
from senaite_style_sync.sync.deleted_here import record_gone
from senaite_style_sync.sync.fetched import content_token
from senaite_style_sync.sync.fields import SET_APART
from senaite_style_sync.sync.fields import WriteIO
from senaite_style_sync.sync.fields import is_relation
from senaite_style_sync.sync.fields import schema_fields
from senaite_style_sync.sync.fields import write_fields
from senaite_style_sync.sync.revision import current_revision
from senaite_style_sync.sync.revision import from_json
from senaite_style_sync.sync.revision import merged
from senaite_style_sync.sync.revision import store_revision


def record_conflict(applier, remote_uid: str, obj, remote_data: dict[str, Any] | None, reason: str = "") -> None:
    """Keep both versions; ``remote_data`` None means the peer deleted the object, ``obj``
    None that it was deleted here."""
    entry = applier.state.index.get(remote_uid)
    path = entry.path if entry else applier.state.synced[remote_uid].remote_path
    remote_json = json.dumps(remote_data, sort_keys=True) if remote_data is not None else ""
    local_json = (
        json.dumps(getMultiAdapter((obj, applier.request), ISerializeToJson)(), sort_keys=True, default=str)
        if obj is not None
        else ""
    )
    previous = applier.state.conflicts.get(remote_uid)
    if previous is None or (previous.remote_version, previous.local_version) != (remote_json, local_json):
        reason = reason or (
            "changed here and on the peer" if remote_data is not None else "deleted on the peer, changed here"
        )
        applier.state.conflicts[remote_uid] = Conflict(
            remote_uid, path, reason, remote_json, local_json, datetime.now().isoformat(timespec="seconds")
        )


def keep_local(applier, remote_uid: str) -> None:
    """Resolve a conflict for the local version: it stays, and counts as in step with the
    peer's version seen in the conflict; a later change on the peer is compared again. An
    object here that the remote never synced is left alone for good."""
    conflict = applier.state.conflicts.pop(remote_uid, None)
    applier.state.resolutions.pop(remote_uid, None)
    entry = applier.state.index.get(remote_uid)
    synced = applier.state.synced.get(remote_uid)
    obj = applier.local.find(remote_uid, synced) if synced else None
    remote_data = json.loads(conflict.remote_version) if conflict and conflict.remote_version else None
    remote_rev = from_json(remote_data.get(wire.REVISION)) if remote_data else None
    if conflict is not None and not conflict.local_version and entry is not None and remote_data:
        # Deleted here: it stays deleted, in step with the peer's version seen in the conflict.
        local_uid = synced.local_uid if synced else remote_uid
        record_gone(applier, remote_uid, local_uid, entry, content_token(remote_data), remote_rev)
        return
    if synced is None:
        if entry is not None:
            applier.state.resolutions[remote_uid] = "local"  # not this remote's: left alone from now on
        return
    if obj is None:
        return
    if entry is None:
        del applier.state.synced[remote_uid]  # deleted on the peer: the local object lives on, unsynced
        return
    token = content_token(remote_data) if remote_data else synced.token
    if remote_rev is not None:  # a revision of this site's that descends from both: the peer takes it
        local = current_revision(obj, applier.site_id)
        store_revision(obj, merged(local, remote_rev, applier.site_id, local.fingerprint), local.fingerprint)
        applier.local.revised(obj)
    applier.record(remote_uid, obj, entry, token)


def mergeable_fields(obj, remote_data: dict[str, Any]) -> set[str]:
    """The fields of ``obj`` whose value the peer's version of a conflict can give one by one:
    schema fields it holds, but files and images (their bytes are not in the record) and what
    the sync sets itself."""
    return {
        name
        for name, field in schema_fields(obj)
        if name in remote_data
        and name not in SET_APART
        and not field.readonly
        and not INamedField.providedBy(field)
        and not is_relation(field)  # set in a second pass: the merged version would lack them
    }


def merge_fields(applier, remote_uid: str, names: set[str]) -> None:
    """Settle a conflict field by field: the peer's values of ``names``, the local ones of the
    rest; an edit made here whose revision descends from both versions (keep_local)."""
    conflict = applier.state.conflicts[remote_uid]
    remote_data = json.loads(conflict.remote_version)
    obj = applier.local.find(remote_uid, applier.state.synced.get(remote_uid))
    stored = remote_data.get(wire.STORED_FIELDS)
    stored = stored if isinstance(stored, list) and all(isinstance(name, str) for name in stored) else []
    io = WriteIO(applier.link_converter(), {}, frozenset(stored))
    write_fields(obj, {name: remote_data[name] for name in names}, applier.request, io)
    notify(ObjectModifiedEvent(obj))  # an edit made here, as an edit form's: re-dated, versioned, reindexed
    keep_local(applier, remote_uid)
