"""The peer's change feed (``@sync-changes``, served by server/sync_changes/), read and checked.

The peer is untrusted input: every page must name the same log, hold its entries in
increasing order after the checkpoint asked for and up to the page's ``last``, each with a
UID, a path and texts of bounded size, and advance. Anything else makes the feed unusable
for the run (FeedError): the caller lists the peer instead, as for a peer without a feed.
"""

from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from senaite_style_sync.peer import wire
from senaite_style_sync.peer.errors import PeerError
from senaite_style_sync.peer.errors import PeerGone
from senaite_style_sync.peer.http import PeerHTTP
from senaite_style_sync.peer.listing import MAX_TEXT
from senaite_style_sync.peer.listing import UID
from senaite_style_sync.peer.listing import UNPLACED
from senaite_style_sync.peer.listing import ListingItem
from senaite_style_sync.peer.listing import text


# The most folders a change may name as its parents, and the most children of a folder.
MAX_DEPTH = 100


class FeedError(PeerError):
    """The peer's change feed cannot be used for this run (malformed, or it does not advance)."""


class FeedGone(PeerError):
    """The peer's change log no longer reaches back to the checkpoint (or it is another log)."""


@dataclass(frozen=True)
class FeedHead:
    log: str  # the id of the peer's change log
    head: int  # the highest number it gave


@dataclass(frozen=True)
class FeedChange:
    """One entry of the feed: an object's state after a change, its tombstone, or a withheld change."""

    seq: int
    uid: str
    kinds: frozenset[str] = frozenset()
    path: str = ""  # "" for the site root (only its children's order)
    portal_type: str = ""
    deleted: bool = False
    withheld: bool = False  # something the remote's user may not see (now, or when it was deleted)
    parents: tuple[str, ...] = ()  # UIDs of its folders, nearest first
    modified: str = ""
    review_state: str = ""
    meta: str = ""
    default_page: str = ""
    revision: str = ""

    @property
    def live(self) -> bool:
        return bool(self.path) and not self.deleted and not self.withheld

    def listing_item(self, position: int = UNPLACED) -> ListingItem:
        return ListingItem(self.uid, self.path, self.portal_type, self.modified, self.review_state, position, self.meta)


def integer(value: Any) -> bool:
    return type(value) is int and value >= 0


def checked_path(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValueError(f"its path is not a (short) text: {value!r:.80}")
    if value and any(segment in ("", ".", "..") for segment in value.split("/")):
        raise ValueError(f"its path is not a path below the site: {value!r:.80}")
    return value


def parse_change(item: Any) -> FeedChange:
    """A FeedChange from one served entry; ValueError, saying why, for anything malformed."""
    if not isinstance(item, dict):
        raise ValueError(f"an entry is not a JSON object: {item!r:.80}")
    seq, uid = item.get("seq"), item.get("uid")
    if not integer(seq):
        raise ValueError(f"an entry's number is not one: {seq!r:.80}")
    if not isinstance(uid, str) or not UID.match(uid):
        raise ValueError(f"the UID of entry {seq} is not one: {uid!r:.80}")
    if item.get("withheld") is True:
        return FeedChange(seq, uid, withheld=True)
    kinds, parents, revision = item.get("kinds"), item.get("parents", []), item.get("revision") or {}
    if not isinstance(kinds, list) or not all(isinstance(kind, str) for kind in kinds):
        raise ValueError(f"the kinds of entry {seq} are not a list of names")
    if (
        not isinstance(parents, list)
        or len(parents) > MAX_DEPTH
        or not all(isinstance(parent, str) and UID.match(parent) for parent in parents)
    ):
        raise ValueError(f"the parents of entry {seq} are not a list of UIDs")
    if not isinstance(revision, dict) or not isinstance(revision.get("id", ""), str):
        raise ValueError(f"the revision of entry {seq} is not one")
    deleted = item.get("deleted", False)
    if not isinstance(deleted, bool):
        raise ValueError(f"entry {seq} says neither deleted nor not")
    return FeedChange(
        seq,
        uid,
        frozenset(kind for kind in kinds if kind in wire.CHANGE_KINDS),
        checked_path(item.get("path")),
        text(item, "portal_type", required=True),
        deleted,
        False,
        tuple(parents),
        text(item, "modified"),
        text(item, "review_state"),
        text(item, "meta"),
        text(item, "default_page"),
        revision.get("id", "")[:64],
    )


def feed_head(http: PeerHTTP) -> FeedHead | None:
    """Where the peer's change log stands; None when the peer serves no feed (to this user)."""
    try:
        answer = http.get_json(f"{http.url}/{wire.SYNC_CHANGES}", retry=False)
    except PeerError:
        return None
    if not isinstance(answer, dict):
        return None
    log, head = answer.get("log"), answer.get("head")
    if not isinstance(log, str) or not log or len(log) > 64 or not integer(head):
        return None
    return FeedHead(log, head)


def read_changes(
    http: PeerHTTP, since: int, log: str, most: int, on_page: Callable[[int], None] | None = None
) -> tuple[list[FeedChange], int]:
    """Every entry after ``since`` of the peer's log ``log``, and the checkpoint after them.

    FeedGone when the log no longer reaches back to ``since`` or is another; FeedError for a
    feed that cannot be used (malformed, longer than ``most`` entries, or not advancing).
    """
    url = f"{http.url}/{wire.SYNC_CHANGES}"
    changes: list[FeedChange] = []
    while True:
        try:
            page = http.get_object(url, [("since", since), ("limit", wire.SYNC_CHANGES_MAX_PAGE)])
        except PeerGone as error:
            raise FeedGone(f"The peer's change log no longer reaches back to {since}.") from error
        if page.get("log") != log:
            raise FeedGone("The peer keeps another change log now.")
        last, head, more, items = page.get("last"), page.get("head"), page.get("more"), page.get("items")
        if not (integer(last) and integer(head) and isinstance(more, bool) and isinstance(items, list)):
            raise FeedError("The peer's change feed answered without its checkpoint, head or entries.")
        if not since <= last <= head or len(items) > wire.SYNC_CHANGES_MAX_PAGE:
            raise FeedError(f"The peer's change feed answered {since} with a page that ends at {last} (head {head}).")
        previous = since
        for item in items:
            try:
                change = parse_change(item)
            except ValueError as error:
                raise FeedError(f"The peer's change feed is malformed: {error}.") from None
            if not previous < change.seq <= last:
                raise FeedError(f"The peer's change feed misorders its entries (at {change.seq}).")
            previous = change.seq
            changes.append(change)
        if len(changes) > most:
            raise FeedError(f"The peer's change feed goes on beyond {most} entries; given up.")
        if on_page is not None:
            on_page(len(changes))
        if not more:
            return changes, last
        if last == since:
            raise FeedError("The peer's change feed does not advance.")
        since = last


def folder_orders(http: PeerHTTP, uids: Iterable[str], most: int) -> dict[str, list[str]]:
    """folder UID -> the ids of its children, in the peer's order (folders it does not answer for are left out)."""
    uids = list(uids)
    orders: dict[str, list[str]] = {}
    for start in range(0, len(uids), wire.SYNC_CHANGES_MAX_ORDER):
        batch = uids[start : start + wire.SYNC_CHANGES_MAX_ORDER]
        answer = http.get_object(f"{http.url}/{wire.SYNC_CHANGES}", [("order", uid) for uid in batch])
        served = answer.get("order")
        if not isinstance(served, dict):
            raise FeedError("The peer's change feed answered without the order asked for.")
        for uid in batch:
            ids = served.get(uid)
            if ids is None:
                continue
            if (
                not isinstance(ids, list)
                or len(ids) > most
                or not all(isinstance(item_id, str) and 0 < len(item_id) <= MAX_TEXT for item_id in ids)
            ):
                raise FeedError(f"The peer's order of the folder {uid} is not a list of ids.")
            orders[uid] = ids
    return orders
