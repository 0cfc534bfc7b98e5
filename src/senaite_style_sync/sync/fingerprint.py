"""The fingerprint of a local object: what decides "changed here", instead of its modification date.

It covers what a user can change on an object: every schema field (files and images by
the sha256 of their bytes), its id and the folder it is in, review state, local roles and
their inheritance, layout and default page. It leaves out what the sync itself changes
without anyone editing the object: the dates (reindexing after a move re-dates), the path
above its folder (moving a folder moves what it holds) and the position (reordering one
object moves its siblings).
"""

import hashlib
import json
import threading
from datetime import date
from datetime import datetime
from typing import Any

from Acquisition import aq_base
from Acquisition import aq_inner
from Acquisition import aq_parent
from DateTime import DateTime
from plone.app.textfield.value import RichTextValue
from plone.namedfile.interfaces import INamedFile
from plone.uuid.interfaces import IUUID
from plone.uuid.interfaces import IUUIDAware
from z3c.form.interfaces import NO_VALUE
from z3c.form.interfaces import IDataManager
from z3c.relationfield.interfaces import IRelationValue
from ZODB.utils import z64
from zope.component import queryMultiAdapter

from senaite_style_sync.sync.fields import schema_fields


BLOB_CHUNK = 1024 * 1024


_hashes: dict[tuple[bytes, bytes], str] = {}
_hashes_lock = threading.Lock()
HASHES_KEPT = 100_000


def stored_version(value) -> tuple[bytes, bytes] | None:
    """What identifies the committed bytes of a file or image value: the oid and serial of the
    record that holds them (a blob file's Blob, else the value itself); None while they are
    new or changed in the current transaction."""
    holder = getattr(value, "_blob", None) or value
    if not getattr(holder, "_p_oid", None) or holder._p_changed or holder._p_serial == z64:
        return None  # new (a savepoint gives it an oid, not a serial), or changed since it was stored
    return holder._p_oid, holder._p_serial


def blob_sha256(value) -> str:
    """sha256 of a file or image value's bytes, computed once per stored version of it (a new
    file is a new value, with its own oid; changed bytes get a new serial)."""
    key = stored_version(value)
    if key is not None and key in _hashes:
        return _hashes[key]
    if not hasattr(value, "open"):  # NamedFile, NamedImage: bytes in the ZODB record
        digest = hashlib.sha256(value.data).hexdigest()
    else:
        hasher = hashlib.sha256()
        with value.open() as stream:
            for chunk in iter(lambda: stream.read(BLOB_CHUNK), b""):
                hasher.update(chunk)
        digest = hasher.hexdigest()
    if key is not None:
        remember_sha256(key, digest)
    return digest


def remember_sha256(key: tuple[bytes, bytes] | None, digest: str) -> None:
    """Keep ``digest`` as the sha256 of the stored version ``key`` (see stored_version)."""
    if key is None:
        return
    with _hashes_lock:
        if len(_hashes) >= HASHES_KEPT:
            _hashes.clear()
        _hashes[key] = digest


def canonical(value: Any, blob_hash: str | None = None) -> Any:
    """A JSON-able form of a stored field value that changes when the value does."""
    if isinstance(value, RichTextValue):
        return {"raw": value.raw, "mimeType": value.mimeType, "outputMimeType": value.outputMimeType}
    if INamedFile.providedBy(value):
        return {
            "filename": value.filename,
            "contentType": value.contentType,
            "sha256": blob_hash or blob_sha256(value),
        }
    if IRelationValue.providedBy(value):
        target = value.to_object
        return {"to": IUUID(target, None) if target is not None else value.to_id}
    if IUUIDAware.providedBy(value):  # an object (a relation as its field gives it): by its UID, not its path
        return {"uid": IUUID(value, None)}
    if isinstance(value, DateTime):
        return value.ISO8601()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted((canonical(item) for item in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    if isinstance(value, dict):
        return {str(key): canonical(item) for key, item in value.items()}
    return value


def field_value(obj, field) -> Any:
    """The field's stored value, read as a form reads it: through the schema's adapter (a
    behavior's field may live elsewhere than an attribute of its name)."""
    manager = queryMultiAdapter((obj, field), IDataManager)
    value = manager.query() if manager is not None else None
    return None if value is NO_VALUE else value


def review_state(obj) -> str:
    """The state the object's (first) workflow history ends in; "" without a workflow."""
    history = getattr(aq_base(obj), "workflow_history", None) or {}
    for entries in history.values():
        if entries:
            return entries[-1].get("review_state") or ""
    return ""


def fingerprint(obj, blob_hashes: dict[str, str] | None = None) -> str:
    """The object's fingerprint; ``blob_hashes`` (field name -> sha256) spares reading files
    whose hash is known (the sync just wrote them)."""
    blob_hashes = blob_hashes or {}
    base = aq_base(obj)
    state: dict[str, Any] = {
        name: canonical(field_value(obj, field), blob_hashes.get(name)) for name, field in schema_fields(obj)
    }
    state["@id"] = obj.getId()
    parent = aq_parent(aq_inner(obj))
    state["@parent"] = parent.UID() if hasattr(aq_base(parent), "UID") else ""
    state["@review_state"] = review_state(obj)
    state["@local_roles"] = sorted((principal, sorted(roles)) for principal, roles in obj.get_local_roles())
    state["@block"] = bool(getattr(base, "__ac_local_roles_block__", False))
    state["@layout"] = getattr(base, "layout", "") or ""
    state["@default_page"] = getattr(base, "default_page", "") or ""
    return hashlib.sha1(json.dumps(state, sort_keys=True, default=repr).encode()).hexdigest()
