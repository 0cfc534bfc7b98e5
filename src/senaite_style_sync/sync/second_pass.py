"""The second pass, once all objects of a run are here: relations, link integrity, default pages, order."""

from plone.app.linkintegrity.handlers import modifiedContent
from z3c.relationfield.event import updateRelations

from senaite_style_sync.sync.fields import is_relation
from senaite_style_sync.sync.fields import schema_fields
from senaite_style_sync.sync.fields import set_field
from senaite_style_sync.sync.writer import LINKS


def set_relations(applier, remote_uid: str) -> None:
    """Second pass: relation fields of one object, now that targets exist."""
    relations = applier.state.pending_relations.get(remote_uid)
    obj = applier.local_object(remote_uid)
    if relations is None or obj is None:
        return
    fields = dict(schema_fields(obj))
    for name, urls in relations.items():
        field_ = fields.get(name)
        if field_ is None or not is_relation(field_):
            continue  # LINKS, or a field the object no longer has
        targets = []
        for url in urls:
            path = url[len(applier.peer_base) + 1 :] if url.startswith(applier.peer_base + "/") else None
            uid = applier.uid_for_path(path) if path else None
            target = applier.local.by_uid(uid) if uid else None
            if target is not None:
                targets.append(target)
        current = getattr(obj.aq_base, name, None)
        current_ids = [item.to_id for item in (current if isinstance(current, list) else [current] if current else [])]
        if current_ids != [applier.intids.getId(target) for target in targets]:
            # plone.app.relationfield's data manager takes target objects and makes the RelationValues.
            set_field(obj, field_, targets if hasattr(field_, "value_type") else (targets[0] if targets else None))
    updateRelations(obj, None)
    if LINKS in relations:
        modifiedContent(obj, None)
    del applier.state.pending_relations[remote_uid]
    synced = applier.state.synced.get(remote_uid)
    if synced is not None:
        applier.record(remote_uid, obj, applier.state.index[remote_uid], synced.token)


def set_default_page(applier, folder_uid: str, page_uid: str) -> None:
    folder, page = applier.local_object(folder_uid), applier.local_object(page_uid)
    if folder is None or page is None or page.aq_parent.getPhysicalPath() != folder.getPhysicalPath():
        return
    if getattr(folder.aq_base, "default_page", None) != page.getId():
        modified = folder.modification_date
        folder.setDefaultPage(page.getId())
        folder.modification_date = modified
        applier.local.index(folder)
        applier.record_current(folder_uid, folder)


def order_children(applier, parent_path: str, ranked_uids: list[str]) -> None:
    """Order a folder's synced children as on the peer (``ranked_uids``); local-only items follow."""
    folder = applier.site if not parent_path else applier.local_object(applier.state.paths.get(parent_path, ""))
    if folder is None or not hasattr(folder, "moveObjectToPosition"):
        return
    if in_order(applier, folder, ranked_uids):
        return
    folder_path = folder.getPhysicalPath()
    wanted = [
        obj.getId()
        for obj in map(applier.local_object, ranked_uids)
        if obj is not None and obj.aq_parent.getPhysicalPath() == folder_path
    ]
    members = set(wanted)
    if [item_id for item_id in folder.objectIds() if item_id in members] == wanted:
        return
    modified = folder.modification_date
    for position, item_id in enumerate(wanted):
        folder.moveObjectToPosition(item_id, position, suppress_events=True)
    folder.modification_date = modified
    for item_id in wanted:
        applier.local.index(folder._getOb(item_id), idxs=["getObjPositionInParent"])


def in_order(applier, folder, ranked_uids: list[str]) -> bool:
    """Are the children's ids, as the peer's index names them, already in the peer's order?

    Decided without loading the children: the usual case after an import in order.
    (Should one of these ids belong to an unrelated local object, the ids of the synced
    children are still a subsequence of an ordered sequence, so still in order.)
    """
    index = applier.state.index
    expected = [applier.rules.local_id(index[uid].id, index[uid].portal_type) for uid in ranked_uids]
    present = [item_id for item_id in expected if folder.hasObject(item_id)]
    members = set(present)
    return [item_id for item_id in folder.objectIds() if item_id in members] == present
