"""Describe the objects a transaction changed and log them: the entries of the change log.

For each object changed, its state now (path, type, dates, review state, what re-dates
nothing, revision, its files' sha256) is compared with its newest entry: what differs
names the kinds of change, and a change that leaves everything as logged (a reindex, the
inherited roles of a folder's contents) is not logged at all. An object gone by the commit
gets a tombstone: its UID, its last path and type, its parents, and who could see it, so
the feed serves it only to them. Who may see an object is part of its state: a change of
it (its own roles, or those of a folder it is in) is an entry, so that a consumer learns
that it may no longer see the object.
"""

import hashlib
import json
import logging

import transaction
from Acquisition import aq_base
from Acquisition import aq_inner
from Acquisition import aq_parent
from plone.indexer.interfaces import IIndexableObject
from plone.namedfile.interfaces import INamedField
from plone.namedfile.interfaces import INamedFile
from plone.restapi.serializer.converters import json_compatible
from plone.uuid.interfaces import IUUID
from Products.CMFCore.utils import getToolByName
from zExceptions import NotFound
from ZODB.POSException import ConflictError
from zope.component import queryMultiAdapter

from senaite_style_sync.model.changes import KINDS
from senaite_style_sync.model.changes import Change
from senaite_style_sync.model.changes import ChangeLog
from senaite_style_sync.model.changes import change_log
from senaite_style_sync.server.changes.buffer import Touched
from senaite_style_sync.server.sync_list.get import meta_digest
from senaite_style_sync.sync.fields import schema_fields
from senaite_style_sync.sync.fingerprint import blob_sha256
from senaite_style_sync.sync.fingerprint import fingerprint
from senaite_style_sync.sync.fingerprint import remember_sha256
from senaite_style_sync.sync.fingerprint import stored_version
from senaite_style_sync.sync.local import resolve_path
from senaite_style_sync.sync.revision import current_revision
from senaite_style_sync.sync.revision import stored_revision


logger = logging.getLogger("senaite_style_sync.changes")
# Hints that an entry is worth logging even when the object's own state is as logged.
STRUCTURAL = frozenset({"order"})


def record(site, objects: dict[str, Touched]) -> None:
    """Log the changes of one site's ``objects`` (a before-commit hook; see buffer.py)."""
    log = change_log(site)
    if log is None:
        return  # the add-on is not installed there
    hashed: list[tuple] = []
    try:
        changes = [change for uid, touched in objects.items() if (change := describe(site, log, uid, touched, hashed))]
    except ConflictError:
        raise
    except Exception:  # noqa: BLE001 -- a change the log cannot describe must not fail the user's commit
        logger.exception("The change log could not describe a change: every consumer lists this site again.")
        log.restart()
        return
    changes.sort(key=lambda change: (change.deleted, change.path.count("/") * (-1 if change.deleted else 1)))
    for change in changes:
        index_blobs(log, change, log.newest(change.uid))
    if changes:
        log.extend(changes)
    if hashed:
        # Once committed, the files hashed here are known by their stored version: not hashed again.
        transaction.get().addAfterCommitHook(remember_hashes, (hashed,))


def remember_hashes(success: bool, hashed: list[tuple]) -> None:
    if success:
        for value, digest in hashed:
            remember_sha256(stored_version(value), digest)


def describe(site, log: ChangeLog, uid: str, touched: Touched, hashed: list) -> Change | None:
    """The entry for one changed object, or None when there is nothing to log."""
    if uid == site.UID():  # the site root: only its children's order is logged
        return Change(uid, ("order",), "", site.portal_type) if "order" in touched.hints else None
    previous = log.newest(uid)
    obj = locate(site, uid, touched)
    if obj is None:
        if (previous is None and "create" in touched.hints) or (previous is not None and previous.deleted):
            return None  # made and deleted in this transaction, or deleted already
        return tombstone(site, uid, touched.wrappers[-1], previous)
    return live(site, uid, obj, previous, touched.hints, hashed)


def relative_path(site, obj) -> str | None:
    site_path, path = site.getPhysicalPath(), obj.getPhysicalPath()
    if path[: len(site_path)] != site_path:
        return None
    return "/".join(path[len(site_path) :])


def locate(site, uid: str, touched: Touched):
    """Where the object is now: where it was last seen, else by the catalog; None when gone."""
    for wrapper in reversed(touched.wrappers):
        path = relative_path(site, wrapper)
        found = resolve_path(site, path) if path else None
        if found is not None and aq_base(found) is aq_base(wrapper):
            return found
    catalog = getToolByName(site, "portal_catalog")
    for brain in catalog.unrestrictedSearchResults(UID=uid):
        try:
            obj = brain._unrestrictedGetObject()
        except (KeyError, AttributeError, LookupError, NotFound):
            continue  # a stale catalog entry
        if IUUID(obj, None) == uid and relative_path(site, obj):
            return obj
    return None


def parents_of(site, obj) -> tuple[str, ...]:
    uids = []
    parent = aq_parent(aq_inner(obj))
    while parent is not None and aq_base(parent) is not aq_base(site):
        uid = IUUID(parent, None)
        if uid:
            uids.append(uid)
        parent = aq_parent(aq_inner(parent))
    return tuple(uids)


def allowed(site, obj) -> tuple[str, ...]:
    """Who may see ``obj``, as the catalog's allowedRolesAndUsers says: its entry there (the
    indexing queue was processed just before), else (a tombstone) as the catalog would say."""
    catalog = getToolByName(site, "portal_catalog")
    rid = catalog.getrid("/".join(obj.getPhysicalPath()))
    entry = catalog.Indexes["allowedRolesAndUsers"].getEntryForObject(rid) if rid is not None else None
    if entry is not None:
        return tuple(sorted(entry))
    try:
        wrapper = queryMultiAdapter((obj, catalog), IIndexableObject)
        value = getattr(wrapper, "allowedRolesAndUsers", None)
    except ConflictError:
        raise
    except Exception:  # noqa: BLE001 -- then only Managers see its tombstone
        value = None
    return tuple(sorted(value)) if value is not None else ("Manager",)


def tombstone(site, uid: str, wrapper, previous: Change | None) -> Change:
    path = relative_path(site, wrapper)
    if path is None:
        path = previous.path if previous is not None else ""
    return Change(
        uid,
        ("delete",),
        path,
        getattr(aq_base(wrapper), "portal_type", "") or (previous.portal_type if previous else ""),
        deleted=True,
        parents=parents_of(site, wrapper) or (previous.parents if previous else ()),
        allowed=allowed(site, wrapper),
    )


def blob_values(obj) -> dict[str, object]:
    base = aq_base(obj)
    return {
        name: value
        for name, field in schema_fields(obj)
        if INamedField.providedBy(field) and INamedFile.providedBy(value := getattr(base, name, None))
    }


def live(site, uid: str, obj, previous: Change | None, hints: set[str], hashed: list) -> Change | None:
    base = aq_base(obj)
    hashes: dict[str, str] = {}
    try:
        revision, hashes = content_of(site, obj, hints, hashed)
    except ConflictError:
        raise
    except Exception:  # noqa: BLE001 -- its state is logged all the same: a consumer reads it again
        logger.exception("The revision of %s could not be computed.", "/".join(obj.getPhysicalPath()))
        revision = None
    roles = sorted((principal, sorted(roles)) for principal, roles in obj.get_local_roles())
    block = bool(getattr(base, "__ac_local_roles_block__", False))
    wftool = getToolByName(obj, "portal_workflow")
    state = Change(
        uid,
        (),
        relative_path(site, obj),
        obj.portal_type,
        parents=parents_of(site, obj),
        modified=json_compatible(obj.modified()),
        review_state=str(wftool.getInfoFor(obj, "review_state", "") or ""),
        meta=meta_digest(obj),
        layout=str(getattr(base, "layout", "") or ""),
        default_page=str(getattr(base, "default_page", "") or ""),
        sharing=hashlib.sha1(json.dumps([roles, block]).encode()).hexdigest(),
        revision=revision.id if revision is not None else "",
        origin=revision.origin if revision is not None else "",
        blobs=tuple(sorted(hashes.items())),
        allowed=allowed(site, obj),
    )
    kinds = kinds_of(previous, state, hints)
    if previous is not None and not previous.deleted and previous.state() == state.state() and not kinds & STRUCTURAL:
        return None  # as logged: nothing a consumer needs
    return state._replace(kinds=tuple(kind for kind in KINDS if kind in kinds))


def content_of(site, obj, hints: set[str], hashed: list) -> tuple:
    """The object's revision and the sha256 of its files (those hashed new go into ``hashed``).

    The revision is the current one (sync/revision.py), computed and not stored: the same id
    ``@sync-read`` serves (and stores) later, so logging a change writes nothing on the object.
    """
    hashes = {}
    for name, value in blob_values(obj).items():
        known = stored_version(value) is not None
        hashes[name] = blob_sha256(value)
        if not known:
            hashed.append((value, hashes[name]))
    revision = stored_revision(obj) if "sync" in hints else None  # the sync just stored it with its fingerprint
    if revision is None:
        revision = current_revision(obj, site.UID(), fingerprint(obj, hashes))
    return revision, hashes


def kinds_of(previous: Change | None, state: Change, hints: set[str]) -> set[str]:
    """What happened, from the hints and from what differs from the newest entry."""
    if previous is None or previous.deleted:
        if previous is not None or "create" in hints:  # new, or here again
            return {"create"} | (hints & {"order"})
        return ((hints & set(KINDS)) - {"delete"}) or {"edit"}
    kinds = hints & {"create", "order"}
    differs = {
        "move": previous.path != state.path,
        "workflow": previous.review_state != state.review_state,
        "sharing": previous.sharing != state.sharing or previous.allowed != state.allowed,
        "layout": previous.layout != state.layout,
        "default_page": previous.default_page != state.default_page,
    }
    kinds |= {kind for kind, different in differs.items() if different}
    if (
        previous.modified != state.modified
        or previous.blobs != state.blobs
        or previous.portal_type != state.portal_type
        or (previous.revision != state.revision and not any(differs.values()))
    ):
        kinds.add("edit")
    return kinds


def index_blobs(log: ChangeLog, change: Change, previous: Change | None) -> None:
    """Keep ``log.blobs`` (sha256 -> an object here that holds the file) up to date."""
    old = dict(previous.blobs) if previous is not None and not previous.deleted else {}
    new = dict(change.blobs) if not change.deleted else {}
    for name, sha in old.items():
        ref = log.blobs.get(sha)
        if new.get(name) != sha and ref is not None and ref[1:] == (change.uid, name):
            del log.blobs[sha]
    for name, sha in new.items():
        ref = log.blobs.get(sha)
        if ref is None or (ref[1:] == (change.uid, name) and ref[0] != change.path):
            log.blobs[sha] = (change.path, change.uid, name)
