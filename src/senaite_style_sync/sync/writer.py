"""Write the peer's objects here: create, update, move, delete (the second pass is second_pass.py).

Objects are created without the add events that would version them or index them
twice: the sync registers the intid, restores workflow and dates itself, and indexes
each object once, last, so nothing it writes bumps the modification date.
"""

import re
from typing import Any

from Acquisition import aq_base
from DateTime import DateTime
from plone import api
from plone.app.linkintegrity.handlers import modifiedContent
from plone.app.linkintegrity.interfaces import IRetriever
from plone.app.workflow.interfaces import ISharingPageRole
from plone.dexterity.utils import createContent
from plone.namedfile.utils import getAllowedSizes
from plone.uuid.interfaces import ATTRIBUTE_NAME
from Products.CMFCore.utils import getToolByName
from zc.relation.interfaces import ICatalog
from zope.component import getUtilitiesFor
from zope.component import queryUtility
from zope.intid.interfaces import IIntIds

from senaite_style_sync.model.state import SyncedEntry
from senaite_style_sync.model.state import SyncState
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.model.tombstones import Tombstones
from senaite_style_sync.peer import wire
from senaite_style_sync.sync.conflicts import record_conflict
from senaite_style_sync.sync.deleted_here import DELETED_HERE
from senaite_style_sync.sync.deleted_here import settle_deleted
from senaite_style_sync.sync.fetched import Fetched
from senaite_style_sync.sync.fields import WriteIO
from senaite_style_sync.sync.fields import write_fields
from senaite_style_sync.sync.fingerprint import fingerprint
from senaite_style_sync.sync.links import LinkConverter
from senaite_style_sync.sync.local import LocalSite
from senaite_style_sync.sync.local import stamp
from senaite_style_sync.sync.origin import mark_origin
from senaite_style_sync.sync.origin import origin_of
from senaite_style_sync.sync.placing import ApplyError
from senaite_style_sync.sync.placing import check_new_id
from senaite_style_sync.sync.placing import kept_dates
from senaite_style_sync.sync.placing import restore_subtree_dates
from senaite_style_sync.sync.placing import subtree
from senaite_style_sync.sync.placing import subtree_dates
from senaite_style_sync.sync.readonly import is_locked
from senaite_style_sync.sync.readonly import lock
from senaite_style_sync.sync.readonly import unlock
from senaite_style_sync.sync.revision import Revision
from senaite_style_sync.sync.revision import current_revision
from senaite_style_sync.sync.revision import from_json
from senaite_style_sync.sync.revision import merged
from senaite_style_sync.sync.revision import relation
from senaite_style_sync.sync.revision import revision_id
from senaite_style_sync.sync.revision import store_revision
from senaite_style_sync.sync.revision import stored_revision
from senaite_style_sync.sync.scope import TypeRules
from senaite_style_sync.sync.sharing import restore_local_roles
from senaite_style_sync.sync.workflow import restore_workflow


RESOLVEUID = re.compile(r"resolveuid/([^/?#]+)")
# In SyncState.pending_relations: the object's link-integrity references are to be made again.
LINKS = "@links"
OUTSIDE = "Points to objects outside the sync's scope, kept as the peer's: {}"
LEFT_ALONE = "left alone"
# The dates a copy takes from the peer's JSON: attribute -> key.
DATES = (
    ("effective_date", "effective"),
    ("expiration_date", "expires"),
    ("creation_date", "created"),
    ("modification_date", "modified"),
)  # a refusal settled for the local object: not synced, no conflict


def link_uids(obj) -> set[str]:
    """UIDs the object links to (``resolveuid`` links, as plone.app.linkintegrity reads them)."""
    retriever = IRetriever(obj, None)
    links = retriever.retrieveLinks() if retriever is not None else ()
    return {uid for link in links for uid in RESOLVEUID.findall(link)}


class Applier:
    """Applies one remote's plan to the site; every write is recorded in the remote's SyncState."""

    def __init__(self, site, remote, request, peer_base: str, peer_origin: str = "") -> None:
        self.site = site
        self.remote = remote
        self.state: SyncState = remote.state
        self.rules = TypeRules(remote)
        self.local = LocalSite(site)
        self.request = request
        self.peer_base = peer_base
        self.peer_origin = peer_origin or peer_base  # recorded on each copy (origin.py)
        self.site_id = site.UID()  # the origin of revisions made here
        # local UID -> name of the other remote whose copy it is: never taken over
        self.owners = {
            synced.local_uid: other.name
            for other in RemoteStorage(site)
            if other.name != remote.name
            for synced in other.state.synced.values()
        }
        self.intids = queryUtility(IIntIds)
        # image scale width -> name, to name the scale of an image the peer renders by width
        self.scales = {width: name for name, (width, _height) in (getAllowedSizes() or {}).items()}
        self.shareable = {name for name, _role in getUtilitiesFor(ISharingPageRole)}  # what a peer may share
        self.notes: list[str] = []  # warnings about the last object written
        self._containers: dict[str, Any] = {}  # peer path -> local container, until something moves
        # Written objects wait here to be catalogued once, just before the chunk commits:
        # a savepoint per object would otherwise pickle the catalog's buckets again and again.
        # (remote UID, object, security changed, created)
        self._to_index: list[tuple[str, Any, bool, bool]] = []

    def forget(self) -> None:
        """Drop what is cached from the current transaction (it was aborted)."""
        self._containers.clear()
        self._to_index.clear()

    def flush(self, *, keep: bool = False) -> None:
        """Catalog the objects written since the last flush (and their link-integrity references).

        ``keep`` leaves them listed, to be catalogued again at the chunk's end: for a flush
        inside one object's write, which a failure of that object would roll back.
        """
        for _remote_uid, obj, security_changed, created in self._to_index:
            self.local.index(obj, created=created)
            if security_changed:
                obj.reindexObjectSecurity()
        # Link integrity finds link targets in the catalog: after the whole batch is in it.
        for remote_uid, obj, _security_changed, created in self._to_index:
            links = link_uids(obj)
            if links or not created:  # a new object without links has no references to update
                modifiedContent(obj, None)
            if any(self.local.by_uid(uid) is None for uid in links):
                # A link to an object not written yet: link integrity would take the folder for
                # it. Its references are made again in the second pass, once all are here.
                pending = dict(self.state.pending_relations.get(remote_uid) or {})
                self.state.pending_relations[remote_uid] = pending | {LINKS: []}
        if not keep:
            self._to_index.clear()

    # -- lookups -----------------------------------------------------------------

    def local_object(self, remote_uid: str):
        entry = self.state.index.get(remote_uid)
        return self.local.find(remote_uid, self.state.synced.get(remote_uid), entry.portal_type if entry else None)

    def uid_for_path(self, path: str) -> str | None:
        remote_uid = self.state.paths.get(path)
        if remote_uid is None:
            return None
        synced = self.state.synced.get(remote_uid)
        return synced.local_uid if synced else remote_uid

    def local_uid(self, remote_uid: str) -> str | None:
        """The UID the copy of a peer object has (or will have) here; None outside the scope."""
        synced = self.state.synced.get(remote_uid)
        if synced is not None:
            return synced.local_uid
        return remote_uid if remote_uid in self.state.index else None

    def scale_for_width(self, width: int) -> str | None:
        return self.scales.get(width)

    def link_converter(self) -> LinkConverter:
        return LinkConverter(self.peer_base, self.uid_for_path, self.local_uid, self.scale_for_width)

    def container_for(self, path: str):
        parent_path = path.rpartition("/")[0]
        if not parent_path:
            return self.site
        container = self._containers.get(parent_path)
        if container is None:
            parent_uid = self.state.paths.get(parent_path)
            container = self.local_object(parent_uid) if parent_uid else None
            if container is None:
                raise ApplyError(f"Its parent {parent_path!r} is not here (not synced, or failed).")
            self._containers[parent_path] = container
        return container

    # -- writes ------------------------------------------------------------------

    def write(self, remote_uid: str, fetched: Fetched, *, force: bool = False) -> str:
        """Create or update one object: "created", "updated", "unchanged" or "conflict".

        With the peer's revision (a peer with this add-on), the revisions decide: the same or
        an older version writes nothing, one that descends from the local one is written, one
        that diverged is a conflict. Without it (a stock peer), the peer's JSON is compared
        with what was written last, and an object edited here since is overwritten only when
        the remote's conflict policy (or the user's resolution) says the peer wins.
        """
        self.notes = []
        entry = self.state.index[remote_uid]
        synced = self.state.synced.get(remote_uid)
        obj = self.local.find(remote_uid, synced, entry.portal_type)
        remote_rev = from_json(fetched.data.get(wire.REVISION))
        if obj is None:
            if entry.role == "update-only":
                return "unchanged"
            settled = settle_deleted(self, remote_uid, entry, synced, fetched, remote_rev)
            if settled == "conflict":
                record_conflict(self, remote_uid, None, fetched.data, DELETED_HERE)
            if settled:
                return settled
            container = self.container_for(entry.path)
            item_id = self.rules.local_id(entry.id, entry.portal_type)
            uid_free = self.local.by_uid(remote_uid) is None
            obj = self._create(container, item_id, entry.portal_type, remote_uid if uid_free else None)
            Tombstones(self.site).remove(obj.UID())  # here again, by the peer's change or the user's decision
            self._write_content(remote_uid, obj, entry, fetched, "created", remote_rev)
            return "created"
        stance = relation(current_revision(obj, self.site_id), remote_rev) if remote_rev is not None else None
        refusal = self.refusal(remote_uid, obj, entry) if synced is None and stance in (None, "diverged") else ""
        if refusal == LEFT_ALONE:
            return "unchanged"
        if refusal:
            record_conflict(self, remote_uid, obj, fetched.data, refusal)
            return "conflict"
        if stance is None:
            return self._write_by_content(remote_uid, obj, entry, synced, fetched, force)
        peer_wins = self.remote.conflict_policy == "remote" or self.state.resolutions.get(remote_uid) == "remote"
        if (stance == "same" and not force) or (stance == "behind" and not peer_wins):
            outcome = "unchanged"
            if stance == "same":
                obj = self._relocate(obj, entry.path, entry.portal_type) if entry.role != "update-only" else obj
                store_revision(obj, remote_rev, fingerprint(obj))
                if self._set_dates(obj, fetched.data):  # re-dated there (a move re-dates what it moves)
                    self._to_index.append((remote_uid, obj, False, False))
                    outcome = "updated"
            self.record(remote_uid, obj, entry, fetched.token, written=True)
            self.state.conflicts.pop(remote_uid, None)  # settled (here or on the peer)
            return outcome
        if stance == "diverged" and not peer_wins:
            if self.remote.conflict_policy == "local":
                local = current_revision(obj, self.site_id)
                store_revision(obj, merged(local, remote_rev, self.site_id, local.fingerprint), local.fingerprint)
                self.record(remote_uid, obj, entry, fetched.token, keep_local_stamp=True)
                return "unchanged"
            record_conflict(self, remote_uid, obj, fetched.data)
            return "conflict"
        if entry.role != "update-only":
            obj = self._relocate(obj, entry.path, entry.portal_type)
        self._write_content(remote_uid, obj, entry, fetched, "updated", remote_rev)
        return "updated"

    def _write_by_content(self, remote_uid: str, obj, entry, synced, fetched: Fetched, force: bool) -> str:
        """Update from a peer that serves no revisions: its JSON against what was written last."""
        token = fetched.token
        edited_here = synced is not None and self.local.changed_since_sync(obj, synced)
        if entry.role != "update-only":
            obj = self._relocate(obj, entry.path, entry.portal_type)
        if synced is not None and synced.token == token and not force:
            self.record(remote_uid, obj, entry, token, keep_local_stamp=edited_here, written=not edited_here)
            return "unchanged"
        peer_wins = self.remote.conflict_policy == "remote" or self.state.resolutions.get(remote_uid) == "remote"
        if edited_here and not peer_wins:
            if self.remote.conflict_policy == "local":
                self.record(remote_uid, obj, entry, token, keep_local_stamp=True)
                return "unchanged"
            record_conflict(self, remote_uid, obj, fetched.data)
            return "conflict"
        self._write_content(remote_uid, obj, entry, fetched, "updated", None)
        return "updated"

    def refusal(self, remote_uid: str, obj, entry) -> str:
        """Why ``obj``, here with the peer's UID but never synced by this remote, must not become
        its copy ("" when it may: the peer's update-only original, or a copy from this same peer)."""
        resolution = self.state.resolutions.get(remote_uid)
        if resolution == "remote":
            return ""
        if resolution == "local":
            return LEFT_ALONE
        owner = self.owners.get(obj.UID())
        if owner:
            return f"here already: a copy synced from the remote '{owner}'"
        if entry.role == "update-only":
            if obj.getId().startswith(self.rules.local_prefix):
                return ""
            return "here already, and not one of this site's originals (no Local Prefix)"
        if origin_of(obj) == self.peer_origin:
            return ""  # a copy from this peer, whose remote was deleted and added again
        return "here already, and not synced from this peer: not overwritten without your decision"

    def _write_content(self, remote_uid: str, obj, entry, fetched: Fetched, outcome: str, rev: Revision | None):
        """Everything of the peer's object onto ``obj``: fields, layout, workflow, roles, dates;
        then its revision (for a stock peer, one made from its JSON: the copy's origin)."""
        data = fetched.data
        io = WriteIO(
            self.link_converter(),
            fetched.blob_files,
            frozenset(data.get(wire.STORED_FIELDS) or ()),
            kept_blobs=fetched.kept_blobs,
        )
        write_fields(obj, data, self.request, io)
        if io.links.outside:
            self.notes.append(OUTSIDE.format(", ".join(io.links.outside)))
        # Only relations to set, or to clear, need the second pass.
        relations = {name: urls for name, urls in io.relations.items() if urls or getattr(aq_base(obj), name, None)}
        if relations:
            self.state.pending_relations[remote_uid] = relations
        self._set_layout(obj, data.get("layout"))
        history = ((data.get("@components") or {}).get("workflow") or {}).get("history") or []
        restore_workflow(obj, data.get("review_state") or "", history)
        security_changed = fetched.sharing is not None and restore_local_roles(obj, fetched.sharing, self.shareable)
        if outcome == "created":
            self._set_owner(obj, data.get("creators"))
        if entry.portal_type in self.rules.readonly:
            lock(obj)
        elif outcome == "updated" and is_locked(obj):
            unlock(obj)  # its type is no longer read-only for this remote
        self._set_dates(obj, data)
        mark_origin(obj, self.peer_origin)
        print_ = fingerprint(obj)
        store_revision(obj, rev or Revision(revision_id(self.peer_origin, fetched.token, []), self.peer_origin), print_)
        self.record(remote_uid, obj, entry, fetched.token, written=True)
        self._to_index.append((remote_uid, obj, security_changed and outcome == "updated", outcome == "created"))
        if obj.isPrincipiaFolderish:
            # Not in the catalog before the flush: children written in the same chunk find it here.
            self._containers[entry.path] = obj

    def move(self, remote_uid: str) -> str:
        entry = self.state.index[remote_uid]
        synced = self.state.synced[remote_uid]
        obj = self._relocate(self.local.find(remote_uid, synced), entry.path, entry.portal_type)
        self._to_index.append((remote_uid, obj, False, False))
        self.record(remote_uid, obj, entry, synced.token, written=True)
        return "moved"

    def referrers(self, obj) -> list:
        """The objects whose relations point at ``obj`` or into it: deleting breaks those
        relations, and breaking one fires a modified event that re-dates its holder."""
        relations = queryUtility(ICatalog)
        if relations is None or self.intids is None:
            return []
        found = []
        for _below, item in subtree(obj):
            intid = self.intids.queryId(item)
            if intid is not None:
                found += [rel.from_object for rel in relations.findRelations({"to_id": intid}) if rel.from_object]
        return found

    def delete(self, remote_uid: str) -> str:
        synced = self.state.synced[remote_uid]
        obj = self.local.find(remote_uid, synced)
        if obj is not None:
            with kept_dates(obj.aq_parent, *self.referrers(obj)):
                api.content.delete(obj=obj, check_linkintegrity=False)
        del self.state.synced[remote_uid]
        self.state.pending_relations.pop(remote_uid, None)
        return "deleted"

    def release(self, remote_uid: str) -> None:
        """Stop syncing a copy whose original the peer keeps outside the scope: it stays here, editable."""
        synced = self.state.synced.pop(remote_uid)
        obj = self.local.find(remote_uid, synced)
        if obj is not None and is_locked(obj):
            unlock(obj)
        self.state.pending_relations.pop(remote_uid, None)

    def record(
        self, remote_uid: str, obj, entry, token: str, *, keep_local_stamp: bool = False, written: bool = False
    ) -> None:
        """Remember what the sync wrote (or found in step) for ``remote_uid``; writes only a change.

        ``keep_local_stamp`` keeps the record of the local object as it was when last
        written: it was edited here since, and must still count as edited. ``written``: the
        sync just changed the object, so its fingerprint is taken anew.
        """
        previous = self.state.synced.get(remote_uid)
        if keep_local_stamp and previous is not None:
            local_stamp, local_print = previous.local_modified, previous.local_fingerprint
        else:
            local_stamp = stamp(obj)
            same = not written and previous is not None and previous.local_modified == local_stamp
            local_print = previous.local_fingerprint if same and previous.local_fingerprint else fingerprint(obj)
            revision = stored_revision(obj) if written else None
            if revision is not None:  # the sync's own change makes no new revision
                store_revision(obj, revision, local_print)
        new = SyncedEntry(
            obj.UID(),
            entry.path,
            entry.modified,
            entry.review_state,
            token,
            local_stamp,
            local_print,
            entry.position,
            entry.meta,
        )
        if previous != new:
            self.state.synced[remote_uid] = new

    def _create(self, container, item_id: str, portal_type: str, uid: str | None):
        """A new object with ``uid``; None when the peer's UID is taken here by an unrelated
        object: the copy keeps a fresh UID and the mapping (SyncedEntry.local_uid) links the two."""
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
        if self.intids is not None:
            self.intids.register(obj)
        return obj

    def _relocate(self, obj, path: str, portal_type: str):
        """Move/rename ``obj`` to where the peer's path says it belongs."""
        container = self.container_for(path)
        item_id = self.rules.local_id(path.rpartition("/")[2], portal_type)
        if obj.aq_parent.getPhysicalPath() == container.getPhysicalPath() and obj.getId() == item_id:
            return obj
        if container._getOb(item_id, None) is not None and container._getOb(item_id) is not obj:
            raise ApplyError(f"Cannot move here: the id {item_id!r} is taken in {container.absolute_url_path()}.")
        if container._getOb(item_id, None) is None:
            check_new_id(container, item_id)
        self.flush(keep=True)  # objects written so far must be findable in the catalog after the move
        self._containers.clear()  # cached containers below the moved object have a new path
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

    def _set_layout(self, obj, layout: Any) -> None:
        """The peer's layout, if it is one this type offers here (else a view the peer names could
        be any view registered for the object)."""
        if not layout or obj.getLayout() == layout:
            return
        if layout in {view for view, _title in obj.getAvailableLayouts()}:
            obj.setLayout(layout)
        else:
            self.notes.append(f"The peer's layout {layout!r:.80} is not one this type offers here: not set.")

    def _set_owner(self, obj, creators: Any) -> None:
        """The first creator owns the copy: if that is a user of this site (never a group, nor a
        user the peer made up); else nobody but the site's managers."""
        for principal, roles in obj.get_local_roles():
            if "Owner" in roles:
                remaining = [role for role in roles if role != "Owner"]
                if remaining:
                    obj.manage_setLocalRoles(principal, remaining)
                else:
                    obj.manage_delLocalRoles([principal])
        creator = creators[0] if isinstance(creators, list) and creators and isinstance(creators[0], str) else ""
        acl_users = getToolByName(self.site, "acl_users")
        user = acl_users.getUserById(creator) if creator else None
        if user is not None and not getattr(user, "isGroup", lambda: False)():
            obj.manage_setLocalRoles(creator, ["Owner"])
        elif creator:
            self.notes.append(f"Its creator {creator!r:.80} is no user of this site: nobody owns the copy here.")

    @staticmethod
    def _set_dates(obj, data: dict[str, Any]) -> bool:
        """Dates last: created/modified cannot go through REST, effective/expires lose seconds there.
        Returns whether any date changed."""
        changed = False
        for attribute, key in DATES:
            value = data.get(key)
            date = DateTime(value) if value else None
            if getattr(aq_base(obj), attribute, None) != date:
                setattr(obj, attribute, date)
                changed = True
        return changed

    # -- after all objects ---------------------------------------------------------

    def record_current(self, remote_uid: str, obj) -> None:
        """Record a change the sync made to ``obj`` beyond its content (its default page)."""
        synced = self.state.synced.get(remote_uid)
        if synced is not None:
            self.record(remote_uid, obj, self.state.index[remote_uid], synced.token, written=True)
