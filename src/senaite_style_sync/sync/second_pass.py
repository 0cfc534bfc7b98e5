"""The second pass, once all objects of a run are here: relations, link integrity, default pages, order."""

from urllib.parse import unquote

from plone.app.linkintegrity.handlers import modifiedContent
from z3c.relationfield.event import updateRelations

from senaite_style_sync.sync.fields import is_relation
from senaite_style_sync.sync.fields import schema_fields
from senaite_style_sync.sync.fields import set_field
from senaite_style_sync.sync.indexing import LINKS
from senaite_style_sync.sync.revision import in_step as is_in_step


def relation_target(applier, target: str):
    """The local copy of a relation's target: a peer UID, or the peer's URL of the target."""
    if target.startswith(applier.peer_base + "/"):
        uid = applier.copies.uid_for_path(unquote(target[len(applier.peer_base) + 1 :]))
    else:
        uid = applier.copies.local_uid(target)
    return applier.local.by_uid(uid) if uid else None


def set_relations(applier, remote_uid: str) -> list[str]:
    """Second pass: relation fields of one object, now that targets exist.

    Returns the targets that are not here (outside the scope): those relations are dropped.
    """
    relations = applier.state.pending_relations.get(remote_uid)
    obj = applier.copies.get(remote_uid)
    if relations is None or obj is None:
        return []
    in_step = is_in_step(obj)
    fields = dict(schema_fields(obj))
    missing = []
    for name, wanted in relations.items():
        field_ = fields.get(name)
        if field_ is None or not is_relation(field_):
            continue  # LINKS, or a field the object no longer has
        targets = []
        for target in wanted:
            local = relation_target(applier, target)
            if local is None:
                missing.append(target)
            else:
                targets.append(local)
        current = getattr(obj.aq_base, name, None)
        current_ids = [item.to_id for item in (current if isinstance(current, list) else [current] if current else [])]
        if current_ids != [applier.intids.getId(target) for target in targets]:
            # plone.app.relationfield's data manager takes target objects and makes the RelationValues.
            set_field(obj, field_, targets if hasattr(field_, "value_type") else (targets[0] if targets else None))
    updateRelations(obj, None)
    if LINKS in relations:
        modifiedContent(obj, None)
    del applier.state.pending_relations[remote_uid]
    applier.record_current(remote_uid, obj, in_step)
    return missing


def set_default_page(applier, folder_uid: str) -> None:
    """The folder's default page as on the peer (none, when the peer's folder has none)."""
    state = applier.state
    folder = applier.copies.get(folder_uid)
    page_uid = state.default_pages.get(folder_uid)
    page = applier.copies.get(page_uid) if page_uid else None
    # A folder in conflict, or edited here, keeps its own default page until that is settled.
    settled = folder is not None and folder_uid not in state.conflicts and is_in_step(folder)
    if settled and (page is None or page.aq_parent.getPhysicalPath() == folder.getPhysicalPath()):
        wanted = page.getId() if page is not None else None
        if (getattr(folder.aq_base, "default_page", None) or None) != wanted:
            modified = folder.modification_date
            folder.setDefaultPage(wanted)
            folder.modification_date = modified
            applier.local.index(folder)
            applier.record_current(folder_uid, folder, in_step=True)
    state.pending_default_pages.remove(folder_uid)


def order_children(applier, parent_path: str, ranked_uids: list[str]) -> None:
    """Order a folder's synced children as on the peer (``ranked_uids``); local-only items follow.

    The children's positions are recorded, so a reorder on the peer shows as a change of them.
    """
    folder = applier.site if not parent_path else applier.copies.get(applier.state.paths.get(parent_path, ""))
    if folder is not None and hasattr(folder, "moveObjectToPosition") and not in_order(applier, folder, ranked_uids):
        reorder(applier, folder, ranked_uids)
    state = applier.state
    for uid in ranked_uids:
        synced, entry = state.synced.get(uid), state.index[uid]
        if synced is not None and synced.remote_position != entry.position:
            state.synced[uid] = synced._replace(remote_position=entry.position)


def reorder(applier, folder, ranked_uids: list[str]) -> None:
    folder_path = folder.getPhysicalPath()
    wanted = [
        obj.getId()
        for obj in map(applier.copies.get, ranked_uids)
        if obj is not None and obj.aq_parent.getPhysicalPath() == folder_path
    ]
    members = set(wanted)
    if [item_id for item_id in folder.objectIds() if item_id in members] == wanted:
        return
    modified = folder.modification_date  # reordering is no edit of the folder
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
