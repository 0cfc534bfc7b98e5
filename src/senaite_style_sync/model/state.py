"""Per-remote sync state, kept in BTrees on the Remote.

``index``      remote UID -> IndexEntry: the peer's objects in scope, as the last Fetch saw them.
``paths``      remote path -> remote UID, for the same objects (links and parents are by path).
``synced``     remote UID -> SyncedEntry: what the last successful write of that object recorded.
``conflicts``  remote UID -> Conflict: changed on both sides, waiting for a decision.
``pending_relations``, ``resolutions``, ``outside``, ``created_principals``: see SyncState.
``cursor``     when the listing used by the last error-free Import / Get Updates started (ISO 8601), or "".
``feed_*``     the peer's change feed (sync/feed.py): see SyncState.
"""

from typing import NamedTuple

from BTrees.OOBTree import OOBTree
from BTrees.OOBTree import OOTreeSet
from persistent import Persistent


class IndexEntry(NamedTuple):
    path: str
    portal_type: str
    modified: str
    review_state: str
    position: int
    # "sync": in scope; "parent": out of scope but needed as a container; "update-only"
    role: str
    # a digest of what changes on the peer's object without re-dating it ("" where not served)
    meta: str = ""

    @property
    def id(self) -> str:
        return self.path.rpartition("/")[2]


class SyncedEntry(NamedTuple):
    local_uid: str
    remote_path: str
    remote_modified: str
    remote_state: str
    # hash of the peer's JSON for the object: equal means nothing to write
    token: str
    # the local object's modification date (microseconds) right after the sync wrote it:
    # while it is the same, the object was not edited here
    local_modified: str
    # the local object's fingerprint (sync/fingerprint.py) right after the sync wrote it: when
    # the date moved, an equal fingerprint means it was re-dated, not edited
    local_fingerprint: str = ""
    # the object's position among its siblings on the peer, as last written
    remote_position: int = -1
    # IndexEntry.meta as last written
    remote_meta: str = ""


class Conflict(Persistent):
    """An object changed locally and on the peer since the last sync."""

    def __init__(self, remote_uid: str, path: str, reason: str, remote_version: str, local_version: str, detected: str):
        self.remote_uid = remote_uid
        self.path = path
        self.reason = reason
        self.remote_version = remote_version  # JSON text of the peer's object
        self.local_version = local_version  # JSON text of the local object
        self.detected = detected


class SyncState(Persistent):
    # On the peer, but outside the scope now: their copies are let go, not deleted.
    outside: OOTreeSet | tuple = ()
    # Folders whose default page changed on the peer since it was last set here.
    pending_default_pages: OOTreeSet | tuple = ()
    # Ids of the users and groups Import Users created here: only these follow the peer's properties.
    created_principals: OOTreeSet | tuple = ()
    # Named by the peer's latest listing only in entries that cannot be read: their copies are
    # kept as they are (neither deleted nor updated) until the peer lists them readably again.
    held: OOTreeSet | tuple = ()
    # The peer's change feed (sync/feed.py), each number with the id of the peer's change log it
    # belongs to. ``feed_read``: the index holds the peer's changes up to it (the head read just
    # before the last listing, or the last entry read from the feed). ``feed_checkpoint``: the
    # copies were brought up to it (feed_read of the last run that applied the index); Get
    # Updates reads the feed from there. ``feed_rules``: the type rules the index was made with
    # (other rules: list the peer again). ``feed_retry``: objects that failed in the last run,
    # planned again by the next one.
    feed_read: tuple[str, int] = ("", -1)
    feed_checkpoint: tuple[str, int] = ("", -1)
    feed_rules = ""
    feed_retry: OOTreeSet | tuple = ()
    # Bundles (jobs/bundles.py). ``last_bundle``: the id of the last bundle imported from the
    # peer. ``bundle_sent``: (this site's change log, its head, the bundle's id) of the last
    # bundle exported for the peer.
    last_bundle = ""
    bundle_sent: tuple[str, int, str] = ("", -1, "")

    def __init__(self) -> None:
        self.index = OOBTree()
        self.paths = OOBTree()
        self.synced = OOBTree()
        self.conflicts = OOBTree()
        self.default_pages = OOBTree()  # remote UID of a folder -> remote UID of its default page
        self.pending_relations = OOBTree()  # remote UID -> {field: [peer URLs]}, for the second pass
        self.resolutions = OOBTree()  # remote UID -> "remote": a conflict the user settled for the peer
        self.outside = OOTreeSet()
        self.pending_default_pages = OOTreeSet()
        self.listed_at = ""  # when the latest listing of the peer started (UTC, ISO 8601)
        self.cursor = ""

    def children(self, parent: str) -> list[tuple[str, IndexEntry]]:
        """The indexed objects right inside the folder at path ``parent`` ("": the site root),
        as (UID, entry). Found in ``paths`` folder by folder, each child's own contents
        skipped in one search: it costs the children, not the whole index."""
        prefix = f"{parent}/" if parent else ""
        found = []
        low = prefix
        while True:
            path, uid = next(iter(self.paths.items(min=low)), ("", ""))
            if not uid or not path.startswith(prefix):
                return found
            name, inside, _rest = path[len(prefix) :].partition("/")
            if inside:
                low = f"{prefix}{name}0"  # past "name/...": "0" is the character after "/"
                continue
            entry = self.index.get(uid)
            if entry is not None and entry.path == path:
                found.append((uid, entry))
            low = path + "\x00"  # the next path after this one ("name-2" comes before "name/")

    def replace_index(self, index: OOBTree, paths: OOBTree, default_pages: OOBTree) -> None:
        self.index = index
        self.paths = paths
        self.default_pages = default_pages
