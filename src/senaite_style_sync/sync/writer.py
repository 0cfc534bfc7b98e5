"""Write the peer's objects here: create, update, move, delete (the second pass is second_pass.py).

Objects are created without the add events that would version them or index them
twice: the sync registers the intid, restores workflow and dates itself, and indexes
each object once, last, so nothing it writes bumps the modification date.
"""

from collections.abc import Callable
from functools import cached_property

from Acquisition import aq_base
from plone.app.workflow.interfaces import ISharingPageRole
from plone.namedfile.utils import getAllowedSizes
from zope.component import getUtilitiesFor
from zope.component import queryUtility
from zope.intid.interfaces import IIntIds

from senaite_style_sync.model.state import SyncedEntry
from senaite_style_sync.model.state import SyncState
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.model.tombstones import Tombstones
from senaite_style_sync.peer import wire
from senaite_style_sync.sync.adoption import LEFT_ALONE
from senaite_style_sync.sync.adoption import refusal
from senaite_style_sync.sync.conflicts import record_conflict
from senaite_style_sync.sync.copies import Copies
from senaite_style_sync.sync.dates import set_dates
from senaite_style_sync.sync.deleted_here import DELETED_HERE
from senaite_style_sync.sync.deleted_here import settle_deleted
from senaite_style_sync.sync.fetched import Fetched
from senaite_style_sync.sync.fields import WriteIO
from senaite_style_sync.sync.fields import write_fields
from senaite_style_sync.sync.fingerprint import fingerprint
from senaite_style_sync.sync.indexing import IndexQueue
from senaite_style_sync.sync.links import LinkConverter
from senaite_style_sync.sync.local import LocalSite
from senaite_style_sync.sync.local import stamp
from senaite_style_sync.sync.origin import mark_origin
from senaite_style_sync.sync.ownership import set_layout
from senaite_style_sync.sync.ownership import set_owner
from senaite_style_sync.sync.placing import ApplyError
from senaite_style_sync.sync.placing import create_object
from senaite_style_sync.sync.placing import move_object
from senaite_style_sync.sync.readonly import is_locked
from senaite_style_sync.sync.readonly import lock
from senaite_style_sync.sync.readonly import unlock
from senaite_style_sync.sync.revision import KEPT_ANCESTORS
from senaite_style_sync.sync.revision import Revision
from senaite_style_sync.sync.revision import current_revision
from senaite_style_sync.sync.revision import from_json
from senaite_style_sync.sync.revision import in_step as is_in_step
from senaite_style_sync.sync.revision import revision_id
from senaite_style_sync.sync.revision import store_revision
from senaite_style_sync.sync.revision import stored_revision
from senaite_style_sync.sync.scope import TypeRules
from senaite_style_sync.sync.shape import check_shape
from senaite_style_sync.sync.sharing import restore_local_roles
from senaite_style_sync.sync.updating import by_content
from senaite_style_sync.sync.updating import by_revision
from senaite_style_sync.sync.updating import stance
from senaite_style_sync.sync.workflow import restore_workflow


OUTSIDE = "Points to objects outside the sync's scope, kept as the peer's: {}"
FILTERED = "Its rich text would run scripts in a browser: stored through the safe-HTML filter ({})."


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
        self.intids = queryUtility(IIntIds)
        # image scale width -> name, to name the scale of an image the peer renders by width
        self.scales = {width: name for name, (width, _height) in (getAllowedSizes() or {}).items()}
        self.shareable = {name for name, _role in getUtilitiesFor(ISharingPageRole)}  # what a peer may share
        self.notes: list[str] = []  # warnings about the last object written
        self.copies = Copies(site, self.state, self.local)
        self.indexing = IndexQueue(self.local, self.state)

    def forget(self) -> None:
        """Drop what is cached from the current transaction (it was aborted)."""
        self.copies.forget()
        self.indexing.clear()

    def flush(self, *, keep: bool = False) -> None:
        """Catalog the objects written since the last flush (see IndexQueue.flush); from then on
        the catalog finds them, and what ``copies`` found is let go (its memory stays per chunk)."""
        self.indexing.flush(keep=keep)
        self.copies.forget()

    def mark(self) -> Callable[[], None]:
        """Before one object's write with a savepoint: what to do when it is rolled back."""
        queued = len(self.indexing)

        def rolled_back() -> None:
            # Drop what the write queued, and catalog again what the chunk wrote before it: a
            # flush within the write (before a move) is rolled back too, and children written
            # later in the chunk must still find their folder.
            self.indexing.truncate(queued)
            self.flush(keep=True)

        return rolled_back

    # -- lookups -----------------------------------------------------------------

    @cached_property
    def owners(self) -> dict[str, str]:
        """Local UID -> name of the other remote whose copy it is: never taken over. Made on
        first use (an object here this remote never synced): it reads every other remote's
        records, which no run that finds only its own copies needs."""
        return {
            synced.local_uid: other.name
            for other in RemoteStorage(self.site)
            if other.name != self.remote.name
            for synced in other.state.synced.values()
        }

    def scale_for_width(self, width: int) -> str | None:
        return self.scales.get(width)

    def link_converter(self) -> LinkConverter:
        return LinkConverter(self.peer_base, self.copies.uid_for_path, self.copies.local_uid, self.scale_for_width)

    # -- writes ------------------------------------------------------------------

    def write(self, remote_uid: str, fetched: Fetched, *, force: bool = False) -> str:
        """Create or update one object: "created", "updated", "unchanged" or "conflict".

        A copy deleted here comes back only when the peer changed it since (deleted_here.py);
        an object here that this remote never synced becomes its copy only as adoption.py
        allows; a copy here takes the peer's version as updating.py decides.
        """
        self.notes = []
        check_shape(fetched.data)  # before any path reads it (the same revision's dates, too)
        entry = self.state.index[remote_uid]
        synced = self.state.synced.get(remote_uid)
        obj = self.copies.get(remote_uid)
        remote_rev = from_json(fetched.data.get(wire.REVISION))
        if obj is None:
            return self._write_new(remote_uid, entry, synced, fetched, remote_rev)
        current = current_revision(obj, self.site_id) if remote_rev is not None else None
        found = stance(current, remote_rev, synced)
        # Only the same or an older version may adopt an object here without a decision, and
        # adopting it only records it: an object this remote never synced is moved or
        # overwritten by no claim of the peer's.
        refused = refusal(self, remote_uid, obj, entry) if synced is None and found not in ("same", "behind") else ""
        if refused == LEFT_ALONE:
            return "unchanged"
        if refused:
            record_conflict(self, remote_uid, obj, fetched.data, refused)
            return "conflict"
        if found is None:
            return by_content(self, remote_uid, obj, synced, fetched, force)
        return by_revision(
            self, remote_uid, obj, synced, fetched, current=current, remote_rev=remote_rev, found=found, force=force
        )

    def _write_new(self, remote_uid: str, entry, synced, fetched: Fetched, remote_rev: Revision | None) -> str:
        """A peer object with no copy here: created, unless it was deleted here (and stays so)."""
        if entry.role == "update-only":
            return "unchanged"
        settled = settle_deleted(self, remote_uid, entry, synced, fetched, remote_rev)
        if settled == "conflict":
            record_conflict(self, remote_uid, None, fetched.data, DELETED_HERE)
        if settled:
            return settled
        container = self.copies.container_for(entry.path)
        item_id = self.rules.local_id(entry.id, entry.portal_type)
        uid_free = self.local.by_uid(remote_uid) is None
        obj = create_object(container, item_id, entry.portal_type, remote_uid if uid_free else None, self.intids)
        Tombstones(self.site).remove(obj.UID())  # here again, by the peer's change or the user's decision
        self.write_content(remote_uid, obj, entry, fetched, "created", remote_rev)
        return "created"

    def write_content(self, remote_uid: str, obj, entry, fetched: Fetched, outcome: str, rev: Revision | None):
        """Everything of the peer's object onto ``obj``: fields, layout, workflow, roles, dates;
        then its revision (for a stock peer, one made from its JSON: the copy's origin)."""
        data = fetched.data
        # For a stock peer, a revision made from its JSON, descending from the version here.
        previous = current_revision(obj, self.site_id) if rev is None and outcome == "updated" else None
        stored = data.get(wire.STORED_FIELDS) or []
        if not isinstance(stored, list) or not all(isinstance(name, str) for name in stored):
            raise ApplyError(f"The peer's {wire.STORED_FIELDS} is not a list of field names.")
        io = WriteIO(self.link_converter(), fetched.blob_files, frozenset(stored), kept_blobs=fetched.kept_blobs)
        write_fields(obj, data, self.request, io)
        if io.links.outside:
            self.notes.append(OUTSIDE.format(", ".join(io.links.outside)))
        if io.filtered:
            self.notes.append(FILTERED.format(", ".join(io.filtered)))
        # Only relations to set, or to clear, need the second pass.
        relations = {name: urls for name, urls in io.relations.items() if urls or getattr(aq_base(obj), name, None)}
        if relations:
            self.state.pending_relations[remote_uid] = relations
        if note := set_layout(obj, data.get("layout")):
            self.notes.append(note)
        history = ((data.get("@components") or {}).get("workflow") or {}).get("history") or []
        restore_workflow(obj, data.get("review_state") or "", history)
        security_changed = fetched.sharing is not None and restore_local_roles(obj, fetched.sharing, self.shareable)
        if outcome == "created":
            if note := set_owner(self.site, obj, data.get("creators")):
                self.notes.append(note)
        if entry.portal_type in self.rules.readonly:
            lock(obj)
        elif outcome == "updated" and is_locked(obj):
            unlock(obj)  # its type is no longer read-only for this remote
        set_dates(obj, data)
        mark_origin(obj, self.peer_origin)
        print_ = fingerprint(obj)
        if rev is None:
            parents = [previous.id] if previous is not None else []
            ancestors = (previous.id, *previous.ancestors)[:KEPT_ANCESTORS] if previous is not None else ()
            rev = Revision(revision_id(self.peer_origin, fetched.token, parents), self.peer_origin, ancestors)
        store_revision(obj, rev, print_)
        self.record(remote_uid, obj, entry, fetched.token, written=True, print_=print_)
        self.indexing.add(
            remote_uid, obj, security_changed=security_changed and outcome == "updated", created=outcome == "created"
        )

    def move(self, remote_uid: str) -> str:
        entry = self.state.index[remote_uid]
        synced = self.state.synced[remote_uid]
        obj = self.copies.get(remote_uid)
        in_step = is_in_step(obj)
        obj = self.relocate(obj, entry.path, entry.portal_type)
        self.indexing.add(remote_uid, obj)
        self.record(remote_uid, obj, entry, synced.token, written=in_step, keep_local_stamp=not in_step)
        return "moved"

    def relocate(self, obj, path: str, portal_type: str):
        """Move/rename ``obj`` to where the peer's path says it belongs."""
        item_id = self.rules.local_id(path.rpartition("/")[2], portal_type)
        return move_object(obj, self.copies.container_for(path), item_id, self._before_move)

    def _before_move(self) -> None:
        self.flush(keep=True)  # objects written so far must be findable in the catalog after the move

    def record(
        self,
        remote_uid: str,
        obj,
        entry,
        token: str,
        *,
        keep_local_stamp: bool = False,
        written: bool = False,
        print_: str = "",
    ) -> None:
        """Remember what the sync wrote (or found in step) for ``remote_uid``; writes only a change.

        ``keep_local_stamp`` keeps the record of the local object as it was when last
        written: it was edited here since, and must still count as edited. ``written``: the
        sync just changed the object, so its fingerprint is taken anew (``print_``, when the
        caller has just taken it).
        """
        previous = self.state.synced.get(remote_uid)
        if keep_local_stamp and previous is not None:
            local_stamp, local_print = previous.local_modified, previous.local_fingerprint
        else:
            local_stamp = stamp(obj)
            same = not written and previous is not None and previous.local_modified == local_stamp
            if same and previous.local_fingerprint:
                local_print = previous.local_fingerprint
            else:
                local_print = (written and print_) or fingerprint(obj)
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
        self.copies.keep(remote_uid, obj)  # not in the catalog before the flush: found here

    # -- after all objects ---------------------------------------------------------

    def record_current(self, remote_uid: str, obj, in_step: bool) -> None:
        """Record a change the sync made to ``obj`` beyond its content (its default page, its
        relations); ``in_step``: ``obj`` was not edited here before (see ``in_step``)."""
        synced = self.state.synced.get(remote_uid)
        if synced is not None:
            entry = self.state.index[remote_uid]
            self.record(remote_uid, obj, entry, synced.token, written=in_step, keep_local_stamp=not in_step)
