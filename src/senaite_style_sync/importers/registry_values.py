"""Registry values: the peer's JSON converted to the type of the local record's field, validated, set."""

import json
from datetime import date
from datetime import datetime
from datetime import time as time_of_day
from decimal import Decimal
from typing import Any

from ZODB.POSException import ConflictError
from zope.schema.interfaces import IChoice
from zope.schema.interfaces import IObject


# The largest value a record takes from a peer (as JSON); Plone's own are a few KiB at most.
MAX_VALUE_BYTES = 256 * 1024
MISSING = object()  # a listing item without a value (not the same as null, which clears a record)


class RecordError(Exception):
    """One record cannot be imported; the message is recorded on the job."""


def from_json(field, value: Any) -> Any:
    """The JSON ``value`` as the Python type ``field`` stores; RecordError when it cannot be."""
    if value is None:
        return field.missing_value
    if IChoice.providedBy(field):
        return value  # the vocabulary's own terms: validation decides
    if IObject.providedBy(field):
        raise RecordError(f"cannot import a value of a {type(field).__name__} field")
    kind = getattr(field, "_type", None)
    if isinstance(kind, tuple) or kind is None:
        return value  # e.g. JSONField: the JSON value itself
    if kind in (tuple, list, set, frozenset):
        if not isinstance(value, list):
            raise RecordError(f"expected a list, got {type(value).__name__}")
        value_type = getattr(field, "value_type", None)
        return kind(from_json(value_type, v) if value_type is not None else v for v in value)
    if kind is dict:
        if not isinstance(value, dict):
            raise RecordError(f"expected an object, got {type(value).__name__}")
        key_type = getattr(field, "key_type", None)
        value_type = getattr(field, "value_type", None)
        return {
            (from_json(key_type, k) if key_type is not None else k): (
                from_json(value_type, v) if value_type is not None else v
            )
            for k, v in value.items()
        }
    try:
        return _scalar(kind, value)
    except (TypeError, ValueError, ArithmeticError) as error:
        raise RecordError(f"cannot read {value!r} as {kind.__name__}: {error}") from error


def _scalar(kind: type, value: Any) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise TypeError("not a boolean")
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean")
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("not a whole number")
        return int(value)
    if kind is float:
        return float(value)
    if kind is Decimal:
        return Decimal(str(value))
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value[:10])
    if kind is time_of_day:
        return time_of_day.fromisoformat(value)
    if kind is bytes:
        if not isinstance(value, str):
            raise TypeError("not a string")
        return value.encode("utf-8")
    if kind is str:
        if not isinstance(value, str):
            raise TypeError("not a string")
        return value
    if isinstance(value, kind):
        return value
    raise TypeError(f"unsupported field type {kind.__name__}")


def same(current: Any, value: Any) -> bool:
    """Equal and of the same kind (a set is not a frozenset, nor 1 a True; a Message is a str)."""
    if current != value:
        return False
    for kind in (str, bytes):
        if isinstance(current, kind) and isinstance(value, kind):
            return True
    return type(current) is type(value)


def set_record(registry, name: str, json_value: Any) -> bool:
    """Set the local record ``name`` from the peer's JSON value; True if it changed."""
    if name not in registry.records:
        raise RecordError("no such record here")
    if json_value is MISSING:
        raise RecordError("the peer lists it without a value")
    if len(json.dumps(json_value, default=str)) > MAX_VALUE_BYTES:
        raise RecordError(f"the peer's value is larger than {MAX_VALUE_BYTES // 1024} KiB: not taken")
    record = registry.records[name]
    field = record.field
    value = from_json(field, json_value)
    if same(record.value, value):
        return False
    bound = field.bind(record)
    if value != field.missing_value:
        try:
            bound.validate(value)
        except ConflictError:
            raise
        except Exception as error:  # noqa: BLE001 -- any validation error is this record's failure
            raise RecordError(f"invalid value {json_value!r}: {type(error).__name__}: {error}") from error
    record.value = value
    return True
