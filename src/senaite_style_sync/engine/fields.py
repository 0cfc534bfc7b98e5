"""Write the peer's field values through plone.restapi's field deserializers.

Rich text is stored as the peer sent it (with links made portable), not through the
rich-text deserializer, which would unescape entities. Files and images are set from
downloaded temporary files. Relations are returned for a second pass, once targets exist.
"""

import os
import shutil
from collections.abc import Callable
from typing import Any

from plone.app.textfield.interfaces import IRichText
from plone.app.textfield.value import RichTextValue
from plone.dexterity.utils import iterSchemata
from plone.namedfile.interfaces import INamedField
from plone.restapi.interfaces import IFieldDeserializer
from z3c.form.interfaces import IDataManager
from z3c.relationfield.interfaces import IRelation
from z3c.relationfield.interfaces import IRelationList
from zope.component import queryMultiAdapter
from zope.schema import getFieldsInOrder


# Never written from the peer's values: dates are set last (deserializers cut them to the
# minute), the id is the sync's to choose (prefixes; IShortName would rename the object).
SET_APART = frozenset({"effective", "expires", "changeNote", "id"})


def schema_fields(obj):
    for schema in iterSchemata(obj):
        yield from getFieldsInOrder(schema)


def is_relation(field) -> bool:
    return IRelation.providedBy(field) or IRelationList.providedBy(field) or (
        getattr(field, "value_type", None) is not None and IRelation.providedBy(field.value_type)
    )


def set_field(obj, field, value: Any) -> None:
    """Set one field through its data manager (the object is being written anyway: an equal
    value is not worth reading the old one first)."""
    manager = queryMultiAdapter((obj, field), IDataManager)
    if manager is not None:
        manager.set(value)


def write_fields(
    obj,
    data: dict[str, Any],
    request,
    *,
    portable: Callable[[str], str],
    blob_files: dict[str, str],
) -> dict[str, list[str]]:
    """Write every schema field present in ``data``.

    Returns the relations: field names mapped to the peer URLs of their targets.
    """
    relations: dict[str, list[str]] = {}
    for name, field in schema_fields(obj):
        if name not in data or name in SET_APART or field.readonly:
            continue
        value = data[name]
        if is_relation(field):
            items = value if isinstance(value, list) else [value] if value else []
            relations[name] = [item["@id"] for item in items if isinstance(item, dict) and item.get("@id")]
            continue
        if INamedField.providedBy(field):
            _write_blob(obj, field, value, blob_files.get(name))
            continue
        if IRichText.providedBy(field):
            if value:
                value = RichTextValue(
                    raw=portable(value.get("data") or ""),
                    mimeType=value.get("content-type") or field.default_mime_type,
                    outputMimeType=field.output_mime_type,
                    encoding=value.get("encoding") or "utf-8",
                )
            set_field(obj, field, value or None)
            continue
        deserializer = queryMultiAdapter((field, obj, request), IFieldDeserializer)
        if deserializer is None:
            continue
        set_field(obj, field, deserializer(value))
    return relations


def _write_blob(obj, field, value: Any, path: str | None) -> None:
    if not value:
        set_field(obj, field, None)
        return
    if path is None:
        return
    factory = field._type
    # The blob storage consumes (moves) the file it is given: hand it a link, so the
    # download stays for a redo of the same write.
    handed = f"{path}.{os.getpid()}.{id(obj)}"
    try:
        os.link(path, handed)
    except OSError:
        shutil.copyfile(path, handed)
    with open(handed, "rb") as stream:
        blob = factory(
            data=stream,
            filename=value.get("filename") or os.path.basename(path),
            contentType=value.get("content-type") or "application/octet-stream",
        )
    if os.path.exists(handed):  # not consumed (small data is copied into the blob)
        os.unlink(handed)
    set_field(obj, field, blob)
