"""GET @sync-read: what a syncing site reads of many objects, in one request (see peer/wire.py).

    GET @sync-read?UID=<uid>&UID=<uid>...   up to MAX_UIDS objects

A stock plone.restapi peer answers the same with ``@search?fullobjects&expand=workflow``
plus one ``@sharing`` request per object; a peer that has this add-on installed answers
here instead, so the local roles come along and no transitions are computed. Each item
is the object's JSON exactly as ``@search?fullobjects`` gives it, with the review history
under ``@components.workflow.history`` (as ``expand=workflow`` gives it) and the local
roles under ``@sharing`` (``inherit``, ``entries`` with the roles set here marked true,
``available_roles``). Objects the user may not view are left out, as @search leaves them.
Only Managers may call it (Manage portal); the syncing site falls back to plain
plone.restapi when refused.
"""

from typing import Any

from Acquisition import aq_base
from plone.restapi.interfaces import ISerializeToJson
from plone.restapi.serializer.converters import json_compatible
from plone.restapi.services import Service
from Products.CMFCore.utils import getToolByName
from Products.CMFCore.WorkflowCore import WorkflowException
from zExceptions import BadRequest
from zope.component import getMultiAdapter

from senaite_style_sync.peer import wire


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
        data = getMultiAdapter((obj, self.request), ISerializeToJson)(include_items=False)
        components = data.setdefault("@components", {})
        components["workflow"] = {"@id": f"{obj.absolute_url()}/@workflow", "history": self.history(obj)}
        data[wire.SHARING_KEY] = self.sharing(obj)
        return data

    def history(self, obj) -> list[dict[str, Any]]:
        wftool = getToolByName(obj, "portal_workflow")
        try:
            history = wftool.getInfoFor(obj, "review_history")
        except WorkflowException:
            return []
        for entry in history:
            title = wftool.getTitleForStateOnType(entry["review_state"], obj.portal_type)
            entry["title"] = obj.translate(title.decode("utf8") if isinstance(title, bytes) else title)
        return json_compatible(history)

    def sharing(self, obj) -> dict[str, Any]:
        view = getMultiAdapter((obj, self.request), name="sharing")
        available = sorted(role["id"] for role in view.roles())
        shareable = set(available)
        entries = []
        for principal, roles in obj.get_local_roles():
            marked = {role: True for role in roles if role in shareable}
            if marked:
                entries.append({"id": principal, "roles": marked})
        return {
            "inherit": not getattr(aq_base(obj), "__ac_local_roles_block__", False),
            "entries": entries,
            "available_roles": [{"id": role} for role in available],
        }
