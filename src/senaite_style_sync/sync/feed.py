"""Get Updates from the peer's change feed: the changes since the checkpoint into the index,
then the plan of the objects they name.

A peer with this add-on numbers every change of its content (server/changes/) and serves
them by number (``@sync-changes``, peer/feed.py). Get Updates reads the entries after the
remote's checkpoint and applies the newest of each object to the remote's index as a
listing would have found it: its state replaces the object's index entry (in or out of
the scope by the type rules, with the folders it needs), a tombstone takes it out, and
the folders whose order changed are asked for it. Only the objects named (and those that
failed last time, or whose conflict a user settled) are planned; they are read, planned
and written by the same reader, plan and writer as after a listing, so type rules,
prefixes, conflicts and revisions apply. No copy is deleted by the feed's word alone: the
peer is asked first, as after a listing.

The feed is not used, and the peer is listed as before, when the peer serves none, when
the remote has no checkpoint in the peer's present log yet, when the type rules changed
since the index was made, when the peer's log no longer reaches back to the checkpoint
(it answers 410 Gone; a warning says so), and when the feed is malformed (a warning too).
"""

from collections.abc import Callable
from collections.abc import Iterable
from datetime import UTC
from datetime import datetime

from BTrees.OOBTree import OOTreeSet

from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.state import IndexEntry
from senaite_style_sync.model.state import SyncState
from senaite_style_sync.peer.errors import PeerAccessError
from senaite_style_sync.peer.errors import PeerNotFound
from senaite_style_sync.peer.feed import FeedChange
from senaite_style_sync.peer.feed import FeedError
from senaite_style_sync.peer.feed import FeedGone
from senaite_style_sync.peer.listing import UNPLACED
from senaite_style_sync.peer.listing import ListingItem
from senaite_style_sync.peer.readers import PeerReader
from senaite_style_sync.sync.local import LocalSite
from senaite_style_sync.sync.revision import stored_revision
from senaite_style_sync.sync.scope import TypeRules


FELL_OFF = "The peer's change feed cannot be used ({}): the whole listing is read instead."
UNUSABLE = "The peer's change feed cannot be used ({}): the whole listing is read instead."
STILL_THERE = "The peer's change feed says it is gone, but the peer still has it: kept."


class FeedUpdate:
    """What a run read from the feed: the objects to plan, and those to read again whatever
    their index entry says (their revision on the peer is not the one their copy has)."""

    def __init__(self, only: set[str], reread: set[str]) -> None:
        self.only = only
        self.reread = reread


def update_from_feed(remote, job: Job, reader: PeerReader, local: LocalSite) -> FeedUpdate | None:
    """Bring the remote's index up to the peer's change feed; None when the feed cannot be used
    (the caller lists the peer instead)."""
    state = remote.state
    log, since = state.feed_checkpoint
    rules = TypeRules(remote)
    if since < 0 or not log or state.feed_read[0] != log or state.feed_rules != rules.digest():
        return None
    try:
        changes, last = reader.changes(since, log)
    except (PeerNotFound, PeerAccessError):
        return None  # it serves no feed (to this user) any more
    except FeedGone as error:
        job.add_warning("", "fetch", FELL_OFF.format(error))
        return None
    except FeedError as error:
        job.add_warning("", "fetch", UNUSABLE.format(error))
        return None
    job.total = job.done = len(changes)
    newest: dict[str, FeedChange] = {}
    for change in changes:
        newest[change.uid] = change
    update = IndexUpdate(state, rules)
    gone = [uid for uid, change in newest.items() if change.deleted or change.withheld]
    # Never by the feed's word alone: an object the peer still has stays.
    asked = [uid for uid in gone if uid in state.synced or uid in state.index]
    still = {item.uid: item for item in reader.existing(asked)}
    for item in still.values():
        job.add_warning(item.path, "fetch", STILL_THERE)
    live = {uid: change.listing_item() for uid, change in newest.items() if change.live}
    live.update(still)
    parents = {uid: change.parents for uid, change in newest.items() if change.live}
    update.apply(live, parents, [uid for uid in gone if uid not in still], reader.existing)
    update.place(reader.folder_orders, [change for change in newest.values() if "order" in change.kinds])
    update.default_pages({uid: change for uid, change in newest.items() if change.live})
    update.outside(live)
    reread = revised(state, local, {uid: change for uid, change in newest.items() if change.live})
    if changes:
        state.listed_at = datetime.now(UTC).isoformat(timespec="seconds")
    if state.feed_read != (log, last):
        state.feed_read = (log, last)
    only = update.touched | reread | set(state.feed_retry) | set(state.resolutions.keys())
    return FeedUpdate(only, reread)


def advance(state, job: Job, failed: set[str], importer_errors: int) -> None:
    """After the content of an Import or Get Updates: the listing's cursor moves when no
    content failed; the change feed's checkpoint moves in any case, and what failed is
    planned again by the next run (writes only what changed)."""
    if job.counts.get("errors", 0) == importer_errors and state.cursor != state.listed_at:
        state.cursor = state.listed_at
    if state.feed_checkpoint != state.feed_read:
        state.feed_checkpoint = state.feed_read
    if set(state.feed_retry) != failed:
        state.feed_retry = OOTreeSet(failed)


def revised(state: SyncState, local: LocalSite, changes: dict[str, FeedChange]) -> set[str]:
    """The objects whose revision on the peer is not their copy's (or is not known): read again,
    even where their entry looks the same (an edit that re-dated nothing)."""
    reread = set()
    for uid, change in changes.items():
        synced, entry = state.synced.get(uid), state.index.get(uid)
        if synced is None or entry is None:
            continue
        copy = local.find(uid, synced, entry.portal_type)
        revision = stored_revision(copy) if copy is not None else None
        if not change.revision or revision is None or revision.id != change.revision:  # none known: read it
            reread.add(uid)
    return reread


class IndexUpdate:
    """Applies the feed's changes to a remote's index (``index`` and ``paths``) in place, as
    build_index (scope.py) would have made it from a listing; ``touched``: the UIDs whose
    entry changed, to plan."""

    def __init__(self, state: SyncState, rules: TypeRules) -> None:
        self.state = state
        self.rules = rules
        self.index = state.index
        self.paths = state.paths
        self.touched: set[str] = set()
        self.vacated: set[str] = set()  # folders (paths) an object left
        self.dropped: dict[str, IndexEntry] = {}  # the entries taken out, by UID
        self.folders: dict[str, str] = {}  # UID -> the UID of its folder now ("" for the site root)
        self.old_folders: dict[str, str | None] = {}  # UID -> the UID of its folder in the index before
        self.removed: set[str] = set()  # gone from the peer

    def drop(self, uid: str) -> IndexEntry | None:
        old = self.index.get(uid)
        if old is None:
            return None
        del self.index[uid]
        if self.paths.get(old.path) == uid:
            del self.paths[old.path]
        self.touched.add(uid)
        self.vacated.add(old.path.rpartition("/")[0])
        self.dropped.setdefault(uid, old)
        return old

    def put(self, item: ListingItem, role: str) -> None:
        """Index ``item`` with ``role``; it keeps its position while it stays in its folder
        (also when that folder moved: the order of what it holds is the same)."""
        old = self.dropped.get(item.uid) or self.index.get(item.uid)
        folder = self.folders.get(item.uid)
        same_folder = old is not None and (
            old.path.rpartition("/")[0] == item.parent_path
            or (folder is not None and self.old_folders.get(item.uid) == folder)
        )
        entry = IndexEntry(
            item.path,
            item.portal_type,
            item.modified,
            item.review_state,
            old.position if same_folder else UNPLACED,
            role,
            item.meta,
        )
        if self.index.get(item.uid) != entry:
            self.index[item.uid] = entry
        if self.paths.get(item.path) != item.uid:
            self.paths[item.path] = item.uid
        self.touched.add(item.uid)

    def holds_wanted(self, path: str) -> bool:
        """Is an object in scope (not merely a container) anywhere below ``path``?"""
        for uid in self.paths.values(min=path + "/", max=path + "0", excludemax=True):  # "0" follows "/"
            entry = self.index.get(uid)
            if entry is not None and entry.role == "sync":
                return True
        return False

    def apply(
        self,
        live: dict[str, ListingItem],
        parents: dict[str, tuple[str, ...]],
        removed: list[str],
        lookup: Callable[[list[str]], list[ListingItem]],
    ) -> None:
        """The objects ``live`` now as listed (their folders' UIDs in ``parents``), those in
        ``removed`` gone; ``lookup`` lists objects by UID (folders not in the index yet)."""
        self.removed = set(removed)
        live = {uid: item for uid, item in live.items() if not self.as_indexed(item)}
        self.folders = {uid: folders[0] if folders else "" for uid, folders in parents.items()}
        for uid in [*live, *removed]:
            entry = self.index.get(uid)
            if entry is not None:
                folder_path = entry.path.rpartition("/")[0]
                self.old_folders[uid] = self.paths.get(folder_path) if folder_path else ""
        for uid in [*live, *removed]:
            self.drop(uid)
        for item in sorted(live.values(), key=lambda item: item.path.count("/")):
            role = self.rules.role(item)
            if role:
                self.put(item, role)
        # The folders objects in scope need, nearest first: from the feed, else asked for.
        needed: dict[str, str] = {}
        for uid, item in live.items():
            entry = self.index.get(uid)
            if entry is None or entry.role != "sync":
                continue
            folder_uids = parents.get(uid, ())
            ancestors = item.path.split("/")[:-1]
            for depth in range(len(ancestors), 0, -1):
                path = "/".join(ancestors[:depth])
                if path in self.paths:
                    break
                nearest = len(ancestors) - depth
                if nearest < len(folder_uids):
                    needed[path] = folder_uids[nearest]
        by_path = {item.path: item for item in live.values()}

        def from_feed(path: str) -> bool:
            return path in by_path and by_path[path].uid == needed[path]

        missing = [uid for path, uid in needed.items() if not from_feed(path)]
        found = {item.uid: item for item in lookup(missing)} if missing else {}
        for path in sorted(needed, key=lambda path: path.count("/")):
            item = by_path[path] if from_feed(path) else found.get(needed[path])
            if item is not None and item.path == path and path not in self.paths:
                self.put(item, "parent")
        # Changed objects out of scope that still hold objects in scope stay as their folders.
        for uid, item in live.items():
            if uid not in self.index and self.holds_wanted(item.path):
                self.put(item, "parent")
        self.release_vacated()

    def as_indexed(self, item: ListingItem) -> bool:
        """Is ``item`` indexed as it is (a change of what the index does not hold, such as who
        may see it): then its entry is left as it is, unwritten."""
        current = self.index.get(item.uid)
        if current is None:
            return False
        role = self.rules.role(item) or ("parent" if current.role == "parent" and current.path == item.path else None)
        listed = (item.path, item.portal_type, item.modified, item.review_state, item.meta)
        return role == current.role and listed == (
            current.path,
            current.portal_type,
            current.modified,
            current.review_state,
            current.meta,
        )

    def release_vacated(self) -> None:
        """Folders kept only as containers that no longer hold anything in scope go."""
        for folder in sorted(self.vacated, key=lambda path: -path.count("/")):
            path = folder
            while path:
                uid = self.paths.get(path)
                entry = self.index.get(uid) if uid is not None else None
                if entry is None or entry.role != "parent" or self.holds_wanted(path):
                    break
                self.drop(uid)
                path = path.rpartition("/")[0]

    def place(self, orders: Callable[[list[str]], dict[str, list[str]]], changes: Iterable[FeedChange]) -> None:
        """Positions, from the peer's order of each folder whose children changed or moved.

        A position is a sort key among siblings, not a count: a child keeps its position
        while it still follows the sibling before it (a removal or an append moves nothing
        else), so one change rewrites the entries it moved, not all the folder's."""
        folders = {}  # folder UID -> its path here ("" for the site root)
        for change in changes:
            if not change.path and not change.deleted and not change.withheld:
                folders[change.uid] = ""
            elif change.live and change.uid in self.index:
                folders[change.uid] = self.index[change.uid].path
        if not folders:
            return
        for folder_uid, ids in orders(list(folders)).items():
            folder = folders.get(folder_uid)
            if folder is None:
                continue
            last = -1
            for item_id in ids:
                uid = self.paths.get(f"{folder}/{item_id}" if folder else item_id)
                entry = self.index.get(uid) if uid is not None else None
                if entry is None:
                    continue
                position = entry.position if last < entry.position < UNPLACED else last + 1
                last = position
                if entry.position != position:
                    self.index[uid] = entry._replace(position=position)
                    self.touched.add(uid)

    def default_pages(self, changes: dict[str, FeedChange]) -> None:
        """Default pages as a listing finds them: a folder and its page, both in the index."""
        state = self.state
        mapping = state.default_pages
        changed = set()
        for uid, change in changes.items():  # folders whose default page may have changed
            if uid not in self.index:
                continue
            page = self.paths.get(f"{change.path}/{change.default_page}") if change.default_page else None
            if page is not None and page in self.index:
                if mapping.get(uid) != page:
                    mapping[uid] = page
                    changed.add(uid)
            elif uid in mapping:
                del mapping[uid]
                changed.add(uid)
        for uid, old in self.dropped.items():  # folders gone, pages gone or moved away
            if uid in mapping and uid not in self.index:
                del mapping[uid]
                changed.add(uid)
            folder = self.paths.get(old.path.rpartition("/")[0])
            entry = self.index.get(uid)
            if folder is not None and mapping.get(folder) == uid:
                if entry is None or entry.path.rpartition("/")[0] != old.path.rpartition("/")[0]:
                    del mapping[folder]
                    changed.add(folder)
        if changed:
            state.pending_default_pages = OOTreeSet(set(state.pending_default_pages) | changed)

    def outside(self, live: dict[str, ListingItem]) -> None:
        """Copies whose original is still on the peer but out of the scope now: let go (as
        fetch.py finds them: listed, synced, not in the index)."""
        state = self.state
        outside = set(state.outside)
        for uid in self.touched | set(live):
            on_peer = uid in live or uid not in self.removed
            if uid in state.synced and on_peer and uid not in self.index:
                outside.add(uid)
            else:
                outside.discard(uid)
        if outside != set(state.outside):
            state.outside = OOTreeSet(outside)
