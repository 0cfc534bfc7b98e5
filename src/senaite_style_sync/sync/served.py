"""What a site with this add-on serves of one of its objects to a syncing site (see peer/wire.py).

The peer's ``@sync-read`` serves it; Verify builds the same of a local copy, to compare
like with like.
"""

from typing import Any

from Acquisition import aq_base
from plone import api
from plone.app.contenttypes.interfaces import ILink
from plone.app.textfield.interfaces import IRichText
from plone.app.textfield.value import RichTextValue
from plone.dexterity.interfaces import IDexterityContent
from plone.namedfile.interfaces import INamedField
from plone.namedfile.interfaces import INamedFile
from plone.restapi.interfaces import IFieldSerializer
from plone.restapi.interfaces import ISerializeToJson
from plone.restapi.serializer.converters import json_compatible
from plone.restapi.serializer.dxfields import RichttextFieldSerializer
from Products.CMFCore.utils import getToolByName
from Products.CMFCore.WorkflowCore import WorkflowException
from zope.component import adapter
from zope.component import getMultiAdapter
from zope.i18n import translate
from zope.interface import alsoProvides
from zope.interface import implementer
from zope.interface import noLongerProvides

from senaite_style_sync.interfaces import IServeStored
from senaite_style_sync.peer import wire
from senaite_style_sync.sync.fields import schema_fields
from senaite_style_sync.sync.fingerprint import blob_sha256
from senaite_style_sync.sync.revision import served_revision


def served(obj, request) -> dict[str, Any]:
    """The object's JSON as ``@search?fullobjects`` gives it, with its review history, its
    local roles, its rich text and Link URL as stored, its files' sha256 and its revision."""
    data = view(obj, request, stored=True)
    data[wire.BLOB_SHA256] = blob_hashes(obj)
    data[wire.REVISION] = served_revision(obj, api.portal.get().UID()).as_dict()
    return data


def view(obj, request, stored: bool) -> dict[str, Any]:
    """The object's JSON as ``@search?fullobjects`` gives it, with its review history and local
    roles; with its rich text and Link URL as stored, or as rendered (as stock restapi serves them)."""
    if stored:
        alsoProvides(request, IServeStored)
    try:
        data = getMultiAdapter((obj, request), ISerializeToJson)(include_items=False)
    finally:
        if stored:
            noLongerProvides(request, IServeStored)
    components = data.setdefault("@components", {})
    components["workflow"] = {"@id": f"{obj.absolute_url()}/@workflow", "history": history(obj, request)}
    data[wire.SHARING_KEY] = sharing(obj, request)
    if stored:
        data[wire.STORED_FIELDS] = serve_stored(obj, data)
    return data


def blob_hashes(obj) -> dict[str, str]:
    """field name -> sha256 of each file or image the object holds."""
    base = aq_base(obj)
    hashes = {}
    for name, field in schema_fields(obj):
        value = getattr(base, name, None)
        if INamedField.providedBy(field) and INamedFile.providedBy(value):
            hashes[name] = blob_sha256(value)
    return hashes


@adapter(IRichText, IDexterityContent, IServeStored)
@implementer(IFieldSerializer)
class StoredRichTextSerializer(RichttextFieldSerializer):
    """Rich text as stored, in the shape restapi serves it: its output transform (resolving
    links, safe-HTML filtering) costs a tenth of serving an object, for text served raw."""

    def __call__(self):
        value = self.get_value()
        if not isinstance(value, RichTextValue):
            return super().__call__()
        return {"data": value.raw, "content-type": value.mimeType, "encoding": value.encoding}


def serve_stored(obj, data: dict[str, Any]) -> list[str]:
    """Rich text and a Link's URL as stored (restapi serves them rendered); their names."""
    stored = []
    base = aq_base(obj)
    for name, field in schema_fields(obj):
        value = getattr(base, name, None)
        if IRichText.providedBy(field) and isinstance(value, RichTextValue) and isinstance(data.get(name), dict):
            # Usually raw already (StoredRichTextSerializer); not where an add-on's own serializer answered.
            data[name]["data"] = value.raw
            stored.append(name)
    if ILink.providedBy(obj) and isinstance(data.get("remoteUrl"), str):
        data["remoteUrl"] = obj.remoteUrl
        stored.append("remoteUrl")
    return stored


def history(obj, request) -> list[dict[str, Any]]:
    """The review history as plone.restapi's ``expand=workflow`` gives it, without computing
    the transitions it also lists. (State titles are translated with the request, not the
    skin's ``translate``, which a job's thread does not have.)"""
    wftool = getToolByName(obj, "portal_workflow")
    try:
        entries = wftool.getInfoFor(obj, "review_history")
    except WorkflowException:
        return []
    for entry in entries:
        title = wftool.getTitleForStateOnType(entry["review_state"], obj.portal_type)
        entry["title"] = translate(
            title.decode("utf8") if isinstance(title, bytes) else title, "plone", context=request
        )
    return json_compatible(entries)


def sharing(obj, request) -> dict[str, Any]:
    """The local roles the sharing tab manages, as @sharing shapes them (set roles marked true)."""
    view = getMultiAdapter((obj, request), name="sharing")
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
