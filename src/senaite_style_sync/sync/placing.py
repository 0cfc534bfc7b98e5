"""Where the sync puts objects: creating and moving them, the ids it may use, and the dates kept
through the moves and deletes it does."""

import unicodedata
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from Acquisition import aq_base
from Acquisition import aq_parent
from OFS.ObjectManager import checkValidId
from plone.dexterity.utils import createContent
from plone.uuid.interfaces import ATTRIBUTE_NAME
from Products.CMFCore.interfaces import IContentish
from zExceptions import BadRequest


# Ids Zope's publisher looks up on a folder itself: a content object with one would take over
# the folder's page (or its HEAD and WebDAV answers).
PUBLISHED_NAMES = frozenset({"index_html", "HEAD", "manage_FTPget", "manage_DAVget"})


MAX_ID = 1000
URL_DELIMITERS = frozenset("?#\\")
# Unicode categories of characters that show as nothing, or turn the text around (U+202E).
INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})


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
    ``portal_catalog``, a method): a copy with that id would replace it for everything below.
    Nor ``index_html`` (Zope would show it in place of its folder), nor one whose URL would
    read as another (``?``, ``#``, backslashes, invisible or direction characters)."""
    if item_id in PUBLISHED_NAMES:
        raise ApplyError(f"The peer's id {item_id!r} would replace how Zope shows the folder: not used.")
    if len(item_id) > MAX_ID:
        raise ApplyError(f"The peer's id is {len(item_id)} characters long, more than {MAX_ID}: not used.")
    if item_id != item_id.strip() or any(
        char in URL_DELIMITERS or unicodedata.category(char) in INVISIBLE for char in item_id
    ):
        raise ApplyError(
            f"The peer's id {item_id!r:.80} holds characters that would make its URL another one "
            "(?, #, \\, control or direction characters, spaces at its ends): not used."
        )
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


def create_object(container, item_id: str, portal_type: str, uid: str | None, intids):
    """A new object with ``uid``, created without the add events (the writer indexes it once,
    last); ``uid`` None when the peer's UID is taken here by an unrelated object: the copy keeps
    a fresh UID and the mapping (SyncedEntry.local_uid) links the two."""
    if container._getOb(item_id, None) is not None:
        raise ApplyError(
            f"The id {item_id!r} is already used here by another object in {container.absolute_url_path()}."
        )
    check_new_id(container, item_id)
    obj = createContent(portal_type)
    obj.id = item_id
    if uid is not None:
        setattr(obj, ATTRIBUTE_NAME, uid)
    container._setObject(item_id, obj, suppress_events=True)
    obj = container._getOb(item_id)
    if intids is not None:
        intids.register(obj)
    return obj


def move_object(obj, container, item_id: str, before_move: Callable[[], None]):
    """Move/rename ``obj`` to ``container`` as ``item_id``, keeping every date in and around it;
    ``before_move`` runs first, only when something moves."""
    if obj.aq_parent.getPhysicalPath() == container.getPhysicalPath() and obj.getId() == item_id:
        return obj
    if container._getOb(item_id, None) is not None and container._getOb(item_id) is not obj:
        raise ApplyError(f"Cannot move here: the id {item_id!r} is taken in {container.absolute_url_path()}.")
    if container._getOb(item_id, None) is None:
        check_new_id(container, item_id)
    before_move()
    dates = subtree_dates(obj)
    with kept_dates(obj.aq_parent, container):
        if obj.aq_parent.getPhysicalPath() != container.getPhysicalPath():
            # Pasting renames it when its current id is taken there: take the name it got.
            pasted = container.manage_pasteObjects(obj.aq_parent.manage_cutObjects([obj.getId()]))
            obj = container._getOb(pasted[0]["new_id"])
        if obj.getId() != item_id:
            container.manage_renameObject(obj.getId(), item_id)
        moved = container._getOb(item_id)
    restore_subtree_dates(moved, dates)
    return moved
