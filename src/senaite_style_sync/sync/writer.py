"""Write the peer's objects here: create, update, move, delete (the second pass is second_pass.py).

Objects are created without the add events that would version them or index them
twice: the sync registers the intid, restores workflow and dates itself, and indexes
each object once, last, so nothing it writes bumps the modification date.
"""

import re
from contextlib import contextmanager
from typing import Any

from Acquisition import aq_base
from DateTime import DateTime
from plone import api
from plone.app.linkintegrity.handlers import modifiedContent
from plone.app.linkintegrity.interfaces import IRetriever
from plone.dexterity.utils import createContent
from plone.uuid.interfaces import ATTRIBUTE_NAME
from zope.component import queryUtility
from zope.intid.interfaces import IIntIds

from senaite_style_sync.model.state import SyncedEntry
from senaite_style_sync.model.state import SyncState
from senaite_style_sync.sync.conflicts import record_conflict
from senaite_style_sync.sync.fetched import Fetched
from senaite_style_sync.sync.fields import WriteIO
from senaite_style_sync.sync.fields import write_fields
from senaite_style_sync.sync.links import portable_links
from senaite_style_sync.sync.local import LocalSite
from senaite_style_sync.sync.local import stamp
from senaite_style_sync.sync.readonly import is_locked
from senaite_style_sync.sync.readonly import lock
from senaite_style_sync.sync.readonly import unlock
from senaite_style_sync.sync.scope import TypeRules
from senaite_style_sync.sync.sharing import restore_local_roles
from senaite_style_sync.sync.workflow import restore_workflow


RESOLVEUID = re.compile(r"resolveuid/([^/?#]+)")
# In SyncState.pending_relations: the object's link-integrity references are to be made again.
LINKS = "@links"


@contextmanager
def kept_dates(*containers):
    """Containers keep their modification dates through a move or delete done by the sync:
    the change is the peer's, and a bumped date would look like an edit made here."""
    dates = [(container, container.modification_date) for container in containers]
    yield
    for container, date in dates:
        if container.modification_date != date:
            container.modification_date = date
            container.reindexObject(idxs=["modified"])


def link_uids(obj) -> set[str]:
    """UIDs the object links to (``resolveuid`` links, as plone.app.linkintegrity reads them)."""
    retriever = IRetriever(obj, None)
    links = retriever.retrieveLinks() if retriever is not None else ()
    return {uid for link in links for uid in RESOLVEUID.findall(link)}


class ApplyError(Exception):
    """This object cannot be written here (the message says why)."""


class Applier:
    """Applies one remote's plan to the site; every write is recorded in the remote's SyncState."""

    def __init__(self, site, remote, request, peer_base: str) -> None:
        self.site = site
        self.remote = remote
        self.state: SyncState = remote.state
        self.rules = TypeRules(remote)
        self.local = LocalSite(site)
        self.request = request
        self.peer_base = peer_base
        self.intids = queryUtility(IIntIds)
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
        for _remote_uid, obj, security_changed, _created in self._to_index:
            self.local.index(obj)
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

    def portable(self, html: str) -> str:
        return portable_links(html, self.peer_base, self.uid_for_path)

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

        An object edited here since the sync last wrote it is overwritten only when the
        remote's conflict policy (or the user's resolution) says the peer wins.
        """
        entry = self.state.index[remote_uid]
        synced = self.state.synced.get(remote_uid)
        data = fetched.data
        obj = self.local.find(remote_uid, synced, entry.portal_type)
        token = fetched.token
        if obj is None:
            if entry.role == "update-only":
                return "unchanged"
            container = self.container_for(entry.path)
            item_id = self.rules.local_id(entry.id, entry.portal_type)
            uid_free = self.local.by_uid(remote_uid) is None
            obj = self._create(container, item_id, entry.portal_type, remote_uid if uid_free else None)
            outcome = "created"
        else:
            edited_here = synced is not None and self.local.changed_since_sync(obj, synced)
            if entry.role != "update-only":
                obj = self._relocate(obj, entry.path, entry.portal_type)
            if synced is not None and synced.token == token and not force:
                self.record(remote_uid, obj, entry, token, keep_local_stamp=edited_here)
                return "unchanged"
            peer_wins = self.remote.conflict_policy == "remote" or self.state.resolutions.get(remote_uid) == "remote"
            if edited_here and not peer_wins:
                if self.remote.conflict_policy == "local":
                    self.record(remote_uid, obj, entry, token, keep_local_stamp=True)
                    return "unchanged"
                record_conflict(self, remote_uid, obj, data)
                return "conflict"
            outcome = "updated"
        self._write_content(remote_uid, obj, entry, fetched, outcome)
        return outcome

    def _write_content(self, remote_uid: str, obj, entry, fetched: Fetched, outcome: str) -> None:
        """Everything of the peer's object onto ``obj``: fields, layout, workflow, roles, dates."""
        data = fetched.data
        io = WriteIO(portable=self.portable, blob_files=fetched.blob_files)
        write_fields(obj, data, self.request, io)
        # Only relations to set, or to clear, need the second pass.
        relations = {name: urls for name, urls in io.relations.items() if urls or getattr(aq_base(obj), name, None)}
        if relations:
            self.state.pending_relations[remote_uid] = relations
        layout = data.get("layout")
        if layout and obj.getLayout() != layout:
            obj.setLayout(layout)
        history = ((data.get("@components") or {}).get("workflow") or {}).get("history") or []
        restore_workflow(obj, data.get("review_state") or "", history)
        security_changed = fetched.sharing is not None and restore_local_roles(obj, fetched.sharing)
        if outcome == "created":
            self._set_owner(obj, data.get("creators") or [])
        if entry.portal_type in self.rules.readonly:
            lock(obj)
        elif outcome == "updated" and is_locked(obj):
            unlock(obj)  # its type is no longer read-only for this remote
        self._set_dates(obj, data)
        self.record(remote_uid, obj, entry, fetched.token)
        self._to_index.append((remote_uid, obj, security_changed and outcome == "updated", outcome == "created"))
        if obj.isPrincipiaFolderish:
            # Not in the catalog before the flush: children written in the same chunk find it here.
            self._containers[entry.path] = obj

    def move(self, remote_uid: str) -> str:
        entry = self.state.index[remote_uid]
        synced = self.state.synced[remote_uid]
        obj = self._relocate(self.local.find(remote_uid, synced), entry.path, entry.portal_type)
        self._to_index.append((remote_uid, obj, False, False))
        self.record(remote_uid, obj, entry, synced.token)
        return "moved"

    def delete(self, remote_uid: str) -> str:
        synced = self.state.synced[remote_uid]
        obj = self.local.find(remote_uid, synced)
        if obj is not None:
            with kept_dates(obj.aq_parent):
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

    def record(self, remote_uid: str, obj, entry, token: str, *, keep_local_stamp: bool = False) -> None:
        previous = self.state.synced.get(remote_uid)
        local_stamp = previous.local_modified if keep_local_stamp and previous else stamp(obj)
        new = SyncedEntry(obj.UID(), entry.path, entry.modified, entry.review_state, token, local_stamp)
        if previous != new:
            self.state.synced[remote_uid] = new

    def _create(self, container, item_id: str, portal_type: str, uid: str | None):
        """A new object with ``uid``; None when the peer's UID is taken here by an unrelated
        object: the copy keeps a fresh UID and the mapping (SyncedEntry.local_uid) links the two."""
        if container._getOb(item_id, None) is not None:
            raise ApplyError(
                f"The id {item_id!r} is already used here by another object in {container.absolute_url_path()}."
            )
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
        self.flush(keep=True)  # objects written so far must be findable in the catalog after the move
        self._containers.clear()  # cached containers below the moved object have a new path
        modified = obj.modification_date
        with kept_dates(obj.aq_parent, container):
            if obj.aq_parent.getPhysicalPath() != container.getPhysicalPath():
                # Pasting renames it when its current id is taken there: take the name it got.
                pasted = container.manage_pasteObjects(obj.aq_parent.manage_cutObjects([obj.getId()]))
                obj = container._getOb(pasted[0]["new_id"])
            if obj.getId() != item_id:
                container.manage_renameObject(obj.getId(), item_id)
            moved = container._getOb(item_id)
        moved.modification_date = modified  # a move by the sync is no edit made here
        return moved

    def _set_owner(self, obj, creators: list[str]) -> None:
        for principal, roles in obj.get_local_roles():
            if "Owner" in roles:
                remaining = [role for role in roles if role != "Owner"]
                if remaining:
                    obj.manage_setLocalRoles(principal, remaining)
                else:
                    obj.manage_delLocalRoles([principal])
        if creators:
            obj.manage_setLocalRoles(creators[0], ["Owner"])

    @staticmethod
    def _set_dates(obj, data: dict[str, Any]) -> None:
        """Dates last: created/modified cannot go through REST, effective/expires lose seconds there."""
        for attribute, key in (
            ("effective_date", "effective"),
            ("expiration_date", "expires"),
            ("creation_date", "created"),
            ("modification_date", "modified"),
        ):
            value = data.get(key)
            setattr(obj, attribute, DateTime(value) if value else None)

    # -- after all objects ---------------------------------------------------------

    def record_current(self, remote_uid: str, obj) -> None:
        synced = self.state.synced.get(remote_uid)
        if synced is not None:
            self.record(remote_uid, obj, self.state.index[remote_uid], synced.token)
