"""GET @sync-read: what a syncing site reads of many objects, in one request (see peer/wire.py).

    GET @sync-read?UID=<uid>&UID=<uid>...   up to wire.SYNC_READ_MAX_UIDS objects

A stock plone.restapi peer answers the same with ``@search?fullobjects&expand=workflow``
plus one ``@sharing`` request per object; a peer that has this add-on installed answers
here instead, so the local roles come along and no transitions are computed. Each item
is the object's JSON exactly as ``@search?fullobjects`` gives it, with the review history
under ``@components.workflow.history`` (as ``expand=workflow`` gives it) and the local
roles under ``@sharing`` (``inherit``, ``entries`` with the roles set here marked true,
``available_roles``), and rich text and a Link's URL as stored, with resolveuid links
(their names under ``@stored-fields``). Objects the user may not view are left out, as
@search leaves them.
Only Managers may call it (Manage portal); the syncing site falls back to plain
plone.restapi when refused.
"""

from typing import Any

from plone.restapi.services import Service
from Products.CMFCore.utils import getToolByName
from zExceptions import BadRequest

from senaite_style_sync.peer import wire
from senaite_style_sync.sync.served import served


class SyncReadGet(Service):
    def reply(self) -> dict[str, Any]:
        uids = self.request.form.get("UID") or []
        if isinstance(uids, str):
            uids = [uids]
        if len(uids) > wire.SYNC_READ_MAX_UIDS:
            raise BadRequest(f"Ask for at most {wire.SYNC_READ_MAX_UIDS} UIDs at a time.")
        catalog = getToolByName(self.context, "portal_catalog")
        items = []
        for brain in catalog.searchResults(UID=list(uids)) if uids else ():
            try:
                obj = brain.getObject()
            except (KeyError, AttributeError):
                continue  # a stale catalog entry: @search skips it too
            items.append(self.item(obj))
        return {"items": items}

    def item(self, obj) -> dict[str, Any]:
        return served(obj, self.request)
