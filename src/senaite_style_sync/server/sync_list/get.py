"""GET @sync-list: this site's objects in UID order, a page at a time (see peer/wire.py).

    GET @sync-list?b_size=<n>[&UID.query=<uid>&UID.range=min]

Pages are asked for as a keyset ``@search`` is (the syncing site's pager serves both), and
answered in the same shape, with for each object, besides what the listing of a stock peer
gives, its ``position`` in its folder and a ``meta`` digest of what changes without
re-dating it: its local roles and their inheritance, its layout and default page.
"""

import hashlib
import json
from typing import Any

from Acquisition import aq_base
from Acquisition import aq_parent
from plone.restapi.serializer.converters import json_compatible
from plone.restapi.services import Service
from Products.CMFCore.utils import getToolByName
from zExceptions import BadRequest

from senaite_style_sync.peer import wire


def meta_digest(obj) -> str:
    """A digest of what changes on an object without re-dating it."""
    base = aq_base(obj)
    state = {
        "local_roles": sorted((principal, sorted(roles)) for principal, roles in obj.get_local_roles()),
        "block": bool(getattr(base, "__ac_local_roles_block__", False)),
        "layout": getattr(base, "layout", "") or "",
        "default_page": getattr(base, "default_page", "") or "",
    }
    return hashlib.sha1(json.dumps(state, sort_keys=True).encode()).hexdigest()


def listing_items(brains) -> list[dict[str, Any]]:
    """The items of ``brains`` as @sync-list serves them."""
    positions: dict[str, dict[str, int]] = {}
    items = []
    for brain in brains:
        item = {
            "@id": brain.getURL(),
            "UID": brain.UID,
            "portal_type": brain.portal_type,
            "modified": json_compatible(brain.modified),
            "review_state": brain.review_state or "",
        }
        try:
            obj = brain.getObject()
        except (KeyError, AttributeError):
            # A stale catalog entry: listed as @search lists it; reading it will tell it is gone.
            items.append(item)
            continue
        parent = aq_parent(obj)
        parent_path = "/".join(parent.getPhysicalPath())
        if parent_path not in positions:
            positions[parent_path] = {item_id: i for i, item_id in enumerate(parent.objectIds())}
        items.append(item | {"position": positions[parent_path].get(obj.getId(), 0), "meta": meta_digest(obj)})
    return items


class SyncListGet(Service):
    def reply(self) -> dict[str, Any]:
        form = self.request.form
        try:
            size = min(int(form.get("b_size", wire.SYNC_LIST_MAX_PAGE)), wire.SYNC_LIST_MAX_PAGE)
        except ValueError:
            raise BadRequest("b_size must be a number.") from None
        query: dict[str, Any] = {"sort_on": "UID"}
        after = form.get("UID.query")
        if after:
            query["UID"] = {"query": str(after), "range": "min"}
        results = getToolByName(self.context, "portal_catalog").searchResults(**query)
        return {"items": listing_items(results[: max(size, 1)]), "items_total": len(results)}
