"""Copies the sync removes: deleted with their original, or released when it left the scope."""

from plone import api
from zc.relation.interfaces import ICatalog
from zope.component import queryUtility

from senaite_style_sync.sync.fingerprint import fingerprint
from senaite_style_sync.sync.placing import kept_dates
from senaite_style_sync.sync.placing import subtree
from senaite_style_sync.sync.readonly import is_locked
from senaite_style_sync.sync.readonly import unlock
from senaite_style_sync.sync.revision import in_step
from senaite_style_sync.sync.revision import store_revision
from senaite_style_sync.sync.revision import stored_revision


def referrers(obj, intids) -> list:
    """The objects whose relations point at ``obj`` or into it: deleting breaks those
    relations, and breaking one fires a modified event that re-dates its holder."""
    relations = queryUtility(ICatalog)
    if relations is None or intids is None:
        return []
    found = []
    for _below, item in subtree(obj):
        intid = intids.queryId(item)
        if intid is not None:
            found += [rel.from_object for rel in relations.findRelations({"to_id": intid}) if rel.from_object]
    return found


def delete_copy(applier, remote_uid: str) -> str:
    """Delete the copy of an object the peer deleted (its record goes in any case)."""
    synced = applier.state.synced[remote_uid]
    obj = applier.local.find(remote_uid, synced)
    if obj is not None:
        holders = referrers(obj, applier.intids)
        unedited = [holder for holder in holders if in_step(holder)]
        with kept_dates(obj.aq_parent, *holders):
            api.content.delete(obj=obj, check_linkintegrity=False)
        applier.copies.forget()
        for holder in unedited:
            # Their relations to it are gone on the peer too: still the version they carry.
            store_revision(holder, stored_revision(holder), fingerprint(holder))
    del applier.state.synced[remote_uid]
    applier.state.pending_relations.pop(remote_uid, None)
    return "deleted"


def release(applier, remote_uid: str) -> None:
    """Stop syncing a copy whose original the peer keeps outside the scope: it stays here, editable."""
    synced = applier.state.synced.pop(remote_uid)
    obj = applier.local.find(remote_uid, synced)
    if obj is not None and is_locked(obj):
        unlock(obj)
    applier.state.pending_relations.pop(remote_uid, None)
