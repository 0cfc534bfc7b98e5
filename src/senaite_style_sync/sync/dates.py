"""The dates a copy takes from the peer's JSON, set last (writing anything else re-dates it)."""

from typing import Any

from Acquisition import aq_base
from DateTime import DateTime


# attribute -> the peer's JSON key
DATES = (
    ("effective_date", "effective"),
    ("expiration_date", "expires"),
    ("creation_date", "created"),
    ("modification_date", "modified"),
)


def same_second(current: DateTime, served: DateTime) -> bool:
    """Is ``served`` (whole seconds, as plone.restapi serializes) ``current`` cut to the second?"""
    seconds = served.timeTime()
    return seconds == int(seconds) and int(current.timeTime()) == int(seconds)


def set_dates(obj, data: dict[str, Any]) -> bool:
    """Dates last: created/modified cannot go through REST, effective/expires lose seconds there.
    Returns whether any date changed."""
    changed = False
    for attribute, key in DATES:
        value = data.get(key)
        date = DateTime(value) if value else None
        current = getattr(aq_base(obj), attribute, None)
        if current is not None and date is not None and same_second(current, date):
            continue  # the same date: the JSON has whole seconds, an original here may have more
        if current != date:
            setattr(obj, attribute, date)
            changed = True
    return changed
