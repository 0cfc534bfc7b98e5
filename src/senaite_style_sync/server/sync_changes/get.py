"""GET @sync-changes: this site's change feed, from its change log (model/changes.py; see peer/wire.py).

    GET @sync-changes                          where the log stands (a new consumer starts there)
    GET @sync-changes?since=<seq>&limit=<n>    the entries after ``since``, in order
    GET @sync-changes?order=<uid>&order=...    the ids of those folders' children, in order

An answer names the log (``log``: another id means another log, to be read from the start),
the highest number given (``head``), the number after which the log is complete
(``floor``), and the checkpoint to ask from next (``last``; ``more`` says whether entries
follow). A ``since`` below the floor (the entries it needs were dropped) or above the head
(another log, or one restored from a backup) is answered 410 Gone: list the site again.

Each entry is filtered by the caller's permissions, as ``@search`` filters: the newest entry
of an object the caller may not see now, or a tombstone of one it could not see when it
was deleted, is served as ``{"seq", "uid", "withheld": true}`` only, so a consumer that had
it can check whether it still may (and delete its copy otherwise), and nobody learns more
of it; an older entry of an object the caller may not see (or that is gone) is left out:
the newest one tells.
"""

from typing import Any

from AccessControl import getSecurityManager
from Acquisition import aq_base
from plone.restapi.services import Service
from Products.CMFCore.utils import getToolByName
from zExceptions import BadRequest

from senaite_style_sync.model.changes import Change
from senaite_style_sync.model.changes import ChangeLog
from senaite_style_sync.model.changes import change_log
from senaite_style_sync.peer import wire
from senaite_style_sync.peer.listing import UID


def number(form: dict[str, Any], name: str, default: int | None = None) -> int:
    value = form.get(name)
    if value in (None, "") and default is not None:
        return default
    try:
        result = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be a number.") from None
    if result < 0:
        raise BadRequest(f"{name} must not be negative.")
    return result


def served(seq: int, change: Change) -> dict[str, Any]:
    item: dict[str, Any] = {
        "seq": seq,
        "uid": change.uid,
        "kinds": list(change.kinds),
        "path": change.path,
        "portal_type": change.portal_type,
        "parents": list(change.parents),
    }
    if change.deleted:
        item["deleted"] = True
        return item
    return item | {
        "modified": change.modified,
        "review_state": change.review_state,
        "meta": change.meta,
        "layout": change.layout,
        "default_page": change.default_page,
        "revision": {"id": change.revision, "origin": change.origin},
        "blobs": dict(change.blobs),
    }


def visible_items(site, log: ChangeLog, page: list[tuple[int, Change]]) -> list[dict[str, Any]]:
    """The entries of ``page`` as served to the current user (see the module's docstring)."""
    catalog = getToolByName(site, "portal_catalog")
    live = [change.uid for _seq, change in page if change.path and not change.deleted]
    visible = {brain.UID for brain in catalog.searchResults(UID=live)} if live else set()
    roles = set(catalog._listAllowedRolesAndUsers(getSecurityManager().getUser()))
    items = []
    for seq, change in page:
        if not change.path:
            shown = True  # the site root: only the order of its children
        elif change.deleted:
            shown = bool(roles.intersection(change.allowed))
        else:
            shown = change.uid in visible
        if shown:
            items.append(served(seq, change))
        elif log.newest_seq(change.uid) == seq:
            items.append({"seq": seq, "uid": change.uid, "withheld": True})
    return items


def folder_orders(site, uids: list[Any]) -> dict[str, list[str]]:
    """folder UID -> the ids of its children the current user may see, in the folder's order."""
    catalog = getToolByName(site, "portal_catalog")
    site_uid = site.UID()
    result = {}
    for uid in uids:
        if not isinstance(uid, str) or not UID.match(uid):
            continue
        folder = site if uid == site_uid else None
        for brain in catalog.searchResults(UID=uid) if folder is None else ():
            try:
                folder = brain.getObject()
            except (KeyError, AttributeError):
                folder = None
        if folder is None or getattr(aq_base(folder), "objectIds", None) is None:
            continue
        path = "/".join(folder.getPhysicalPath())
        shown = {brain.getId for brain in catalog.searchResults(path={"query": path, "depth": 1})}
        result[uid] = [item_id for item_id in folder.objectIds() if item_id in shown]
    return result


class SyncChangesGet(Service):
    def reply(self) -> dict[str, Any]:
        log = change_log(self.context)
        if log is None:
            self.request.response.setStatus(404)
            return {"error": {"type": "NotFound", "message": "This site keeps no change log."}}
        form = self.request.form
        if "order" in form:
            return {"order": self.orders(form["order"])}
        if form.get("since") in (None, ""):
            return self.answer(log, log.head, log.head, False, [])
        since = number(form, "since")
        limit = max(1, min(number(form, "limit", wire.SYNC_CHANGES_MAX_PAGE), wire.SYNC_CHANGES_MAX_PAGE))
        if since < log.floor or since > log.head:
            self.request.response.setStatus(410)
            return {
                "error": {
                    "type": "Gone",
                    "message": f"The change log no longer reaches back to {since} (it is complete after "
                    f"{log.floor}, up to {log.head}): list the site again.",
                },
                "log": log.id,
                "floor": log.floor,
                "head": log.head,
            }
        page = log.page(since, limit)
        more = len(page) == limit and log.has_after(page[-1][0])
        return self.answer(log, since, page[-1][0] if more else log.head, more, self.items(log, page))

    @staticmethod
    def answer(log: ChangeLog, since: int, last: int, more: bool, items: list) -> dict[str, Any]:
        return {
            "log": log.id,
            "since": since,
            "last": last,
            "head": log.head,
            "floor": log.floor,
            "more": more,
            "items": items,
        }

    def items(self, log: ChangeLog, page: list[tuple[int, Change]]) -> list[dict[str, Any]]:
        return visible_items(self.context, log, page)

    def orders(self, uids: Any) -> dict[str, list[str]]:
        uids = [uids] if isinstance(uids, str) else list(uids)
        if len(uids) > wire.SYNC_CHANGES_MAX_ORDER:
            raise BadRequest(f"Ask for at most {wire.SYNC_CHANGES_MAX_ORDER} folders at a time.")
        return folder_orders(self.context, uids)
