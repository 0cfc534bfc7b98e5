"""Where the sync puts objects: ids it may use, and dates kept through the moves and deletes it does."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from Acquisition import aq_base
from Acquisition import aq_parent
from OFS.ObjectManager import checkValidId
from Products.CMFCore.interfaces import IContentish
from zExceptions import BadRequest


class ApplyError(Exception):
    """This object cannot be written here (the message says why)."""


@contextmanager
def kept_dates(*objects):
    """Objects (the containers, the holders of relations a delete breaks) keep their modification
    dates through a move or delete done by the sync: the change is the peer's, and a bumped date
    would look like an edit made here."""
    dates = [(obj, obj.modification_date) for obj in objects]
    yield
    for obj, date in dates:
        parent = aq_parent(obj)
        if parent is not None and hasattr(aq_base(parent), "hasObject") and not parent.hasObject(obj.getId()):
            continue  # deleted with the rest
        if obj.modification_date != date:
            obj.modification_date = date
            obj.reindexObject(idxs=["modified"])


def check_new_id(container, item_id: str) -> None:
    """ApplyError for an id the peer names that no object may have here: not one Zope takes
    (empty, ``..``, ``_x``, ``aq_x``, ``@@x``, ``REQUEST``, characters illegal in URLs), nor one
    that would shadow what the container acquires or has that is no content (a tool such as
    ``portal_catalog``, a method): a copy with that id would replace it for everything below."""
    try:
        checkValidId(container, item_id, allow_dup=1)
    except BadRequest as error:
        raise ApplyError(f"The peer's id {item_id!r:.80} cannot be used here: {error}") from None
    found = getattr(container, item_id, None)
    if found is not None and not IContentish.providedBy(found):
        raise ApplyError(f"The peer's id {item_id!r:.80} would hide what {item_id!r:.80} is here: not used.")


def subtree(obj, below: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """``obj`` and every content object inside it, with their paths relative to ``obj``."""
    yield below, obj
    if obj.isPrincipiaFolderish:
        for child in obj.objectValues():
            if hasattr(aq_base(child), "modification_date"):
                yield from subtree(child, below + (child.getId(),))


def subtree_dates(obj) -> dict[tuple[str, ...], Any]:
    """Relative path -> modification date of ``obj`` and everything inside it."""
    return {below: item.modification_date for below, item in subtree(obj)}


def restore_subtree_dates(obj, dates: dict[tuple[str, ...], Any]) -> None:
    """Put back the dates ``subtree_dates`` took, where moving re-dated something: the move
    is the peer's, and a later date would look like an edit made here."""
    for below, date in dates.items():
        item = obj.unrestrictedTraverse("/".join(below), None) if below else obj
        if item is not None and item.modification_date != date:
            item.modification_date = date
            item.reindexObject(idxs=["modified"])
