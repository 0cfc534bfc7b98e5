"""Readers: what the sync reads of a peer, behind one interface, for each kind of peer.

StockReader reads any Plone site with plone.restapi; AddonReader reads a peer that has
this add-on installed (its ``@sync-read`` serves many objects with review history and
local roles at once). ``open_reader`` asks the peer once which kind it is. A reader of
bundle files will implement the same interface.
"""

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any
from typing import NamedTuple
from typing import Protocol
from urllib.parse import quote
from urllib.parse import unquote

from senaite_style_sync.peer import feed
from senaite_style_sync.peer import wire
from senaite_style_sync.peer.errors import PeerAnswerError
from senaite_style_sync.peer.errors import PeerError
from senaite_style_sync.peer.errors import PeerTimeout
from senaite_style_sync.peer.http import PeerHTTP
from senaite_style_sync.peer.listing import LISTING_FIELDS
from senaite_style_sync.peer.listing import UID
from senaite_style_sync.peer.listing import UNPLACED
from senaite_style_sync.peer.listing import ListingItem
from senaite_style_sync.peer.listing import folder_ranks
from senaite_style_sync.peer.listing import listing_item
from senaite_style_sync.peer.listing import listing_page_size
from senaite_style_sync.peer.listing import max_listing_size
from senaite_style_sync.peer.listing import pages_by_uid
from senaite_style_sync.peer.listing import with_positions


DUPLICATE = "The peer's catalog lists another object with the same UID: this entry is left out (a stale one?)."
# UIDs per request when objects are read or looked up.
READ_BATCH = 25
LOOKUP_BATCH = 100


def shown(value: Any) -> str:
    """A value of the peer's, short enough to show."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 200 else text[:199] + "…"


def named_uid(item: dict[str, Any]) -> str:
    """The UID a listing entry names ("" for none, or for a value that is no UID)."""
    uid = item.get("UID")
    return uid if isinstance(uid, str) and UID.fullmatch(uid) else ""


class Oversized(PeerAnswerError):
    """The peer answers a batch with far more than was asked: not asked again object by object."""


class GoneFromPeer(PeerError):
    """The peer no longer has an object it listed: deleted there since."""


class LeftOut(NamedTuple):
    """A listing entry the sync leaves out: what it is, why, and its UID where it names one."""

    entry: str
    why: str
    uid: str = ""  # the peer still has this UID: its copy is no proof of a deletion
    malformed: bool = False  # the entry cannot be read: an error of the run, not a warning


class PeerReader(Protocol):
    """What the sync reads of a peer, whatever kind of peer it is."""

    http: PeerHTTP

    @property
    def base(self) -> str: ...

    left_out: list[LeftOut]  # what the last listing left out
    unreadable: set[str]  # UIDs the last lookups (``existing``) found, in entries that cannot be read

    def listing(self, on_page: Callable[[int], None] | None = None) -> list[ListingItem]: ...

    def default_page_uids(self) -> set[str]: ...

    def existing(self, uids: Iterable[str]) -> list[ListingItem]: ...

    def read_objects(self, uids: Iterable[str]) -> dict[str, dict[str, Any] | PeerError]: ...

    def sharing(self, path: str) -> dict[str, Any]: ...

    # The change feed, where the peer serves one (peer/feed.py).

    def changes_head(self) -> feed.FeedHead | None: ...

    def changes(self, since: int, log: str) -> tuple[list[feed.FeedChange], int]: ...

    def folder_orders(self, uids: Iterable[str]) -> dict[str, list[str]]: ...


class StockReader:
    """Reads a peer through stock plone.restapi only: @search, GET, @sharing."""

    def __init__(self, http: PeerHTTP) -> None:
        self.http = http
        self.left_out: list[LeftOut] = []  # what the last listing left out
        self.unreadable: set[str] = set()  # UIDs the last lookups found in entries that cannot be read
        self.url = http.url
        self.search_url = f"{self.url}/@search"
        self.page_size = listing_page_size()
        self._base: str | None = None
        self.identity = ""  # the peer site's UID (its URL where it has none), once ``base`` is read

    @property
    def base(self) -> str:
        """The peer site's own URL for itself (its ``@id``); object paths are relative to it."""
        if self._base is None:
            site = self.http.get_object(self.url)
            base = site.get("@id")
            if not isinstance(base, str):
                raise PeerError(f"{self.url} answered without its own URL (@id): is it a Plone site?")
            self._base = base.rstrip("/")
            uid = site.get("UID")
            self.identity = uid if isinstance(uid, str) and UID.match(uid) else self._base
        return self._base

    def relative_path(self, object_url: Any) -> str | None:
        """Path below the peer site; None for the site itself or anything outside it."""
        prefix = self.base + "/"
        if not isinstance(object_url, str) or not object_url.startswith(prefix):
            return None
        return "/".join(unquote(segment) for segment in object_url[len(prefix) :].split("/"))

    def object_url(self, path: str) -> str:
        return f"{self.url}/{'/'.join(quote(segment) for segment in path.split('/'))}" if path else self.url

    def search(self, params: list[tuple[str, Any]], most: int) -> Iterator[dict[str, Any]]:
        """The items (JSON objects) of an unsorted @search for at most ``most`` objects (asked as
        one page). Its ``next`` links are followed only while a page brings entries not seen
        before (a stale catalog entry beside a live one can make a second page), up to twice
        ``most`` entries; a peer that pages on beyond that, or in circles, is an error."""
        page = self.http.get_object(self.search_url, params)
        seen: set[tuple[str, str]] = set()
        while True:
            items = page.get("items")
            if not isinstance(items, list):
                raise PeerAnswerError(f"The peer's answer to {shown(self.search_url)} has no list of items.")
            new = 0
            for item in items:
                if not isinstance(item, dict):
                    raise PeerAnswerError(
                        f"The peer's answer to {shown(self.search_url)} holds an entry that is no object."
                    )
                key = (repr(item.get("UID")), repr(item.get("@id")))
                if key not in seen:
                    seen.add(key)
                    new += 1
                    yield item
            if len(seen) > 2 * most:
                raise PeerAnswerError(f"The peer answers a search for {most} objects with more than {2 * most}.")
            batching = page.get("batching")
            next_url = batching.get("next") if isinstance(batching, dict) else None
            if len(seen) >= most or not isinstance(next_url, str):
                return
            if not new:
                raise PeerAnswerError(f"The peer's answer to {shown(self.search_url)} pages on without new entries.")
            page = self.http.get_object(next_url)

    def listing(self, on_page: Callable[[int], None] | None = None) -> list[ListingItem]:
        """Every catalogued object but the site root, each with its position among its siblings.

        ``on_page(n)`` is called after each page with the number of objects listed so far.
        """
        params: list[tuple[str, Any]] = [("metadata_fields", name) for name in LISTING_FIELDS]
        items = self.listed(pages_by_uid(self.http, self.search_url, params, self.page_size, on_page))
        ranks = folder_ranks(self.http, self.search_url, self.page_size, len(items))
        return with_positions(list(items.values()), ranks)

    def listed(self, pages: Iterator[dict[str, Any]]) -> dict[str, ListingItem]:
        """UID -> item of the site's objects in listing pages (not the site root, nor catalog
        entries outside the site). Entries that cannot be read, and further entries with a UID
        listed before (a stale catalog entry beside the live one), go to ``left_out``."""
        items: dict[str, ListingItem] = {}
        self.left_out = []
        for item in pages:
            url = item.get("@id")
            path = self.relative_path(url)
            uid = named_uid(item)
            if not path:
                if not (isinstance(url, str) and url.rstrip("/") == self.base):
                    self.left_out.append(LeftOut(shown(url), "not an object of the peer's site", uid))
                continue
            try:
                listed = listing_item(item, path)
            except ValueError as error:
                why = f"The peer's listing entry is malformed: {error}."
                self.left_out.append(LeftOut(path, why, uid, malformed=True))
                continue
            if listed.uid in items:
                self.left_out.append(LeftOut(path, DUPLICATE))
            else:
                items[listed.uid] = listed
        return items

    def default_page_uids(self) -> set[str]:
        params = [("is_default_page", "true"), ("metadata_fields", "UID")]
        return {item["UID"] for item in pages_by_uid(self.http, self.search_url, params, self.page_size)}

    def existing(self, uids: Iterable[str]) -> list[ListingItem]:
        """The listing items of those ``uids`` the peer still has (batched UID queries). One it
        answers for with an entry that cannot be read goes to ``unreadable``: no proof that it
        exists, nor that it is gone."""
        uids = list(uids)
        found = []
        self.unreadable = set()
        for start in range(0, len(uids), LOOKUP_BATCH):
            batch = uids[start : start + LOOKUP_BATCH]
            params: list[tuple[str, Any]] = [("UID", uid) for uid in batch]
            params += [("metadata_fields", name) for name in LISTING_FIELDS] + [("b_size", len(batch))]
            for item in self.search(params, len(batch)):
                uid = named_uid(item)
                if uid not in batch:
                    # No copy may be deleted on the word of an answer that names what was not asked.
                    raise PeerAnswerError(
                        f"The peer answers a lookup of {len(batch)} UIDs with an entry for another one, or none "
                        f"({shown(item.get('UID'))}); nothing is deleted on its word."
                    )
                self.take_found(uid, item, found)
        return found

    def take_found(self, uid: str, item: dict[str, Any], found: list[ListingItem]) -> None:
        """A lookup's entry for ``uid`` into ``found``; one that cannot be read goes to ``unreadable``."""
        path = self.relative_path(item.get("@id"))
        try:
            if not path:
                raise ValueError("not an object of the peer's site")
            found.append(listing_item(item, path))
        except ValueError:
            self.unreadable.add(uid)

    def read_batch(self, uids: list[str]) -> list[dict[str, Any]]:
        """Full JSON with review history of those of ``uids`` the peer has."""
        params: list[tuple[str, Any]] = [("fullobjects", "1"), ("expand", "workflow"), ("b_size", len(uids))]
        params += [("UID", uid) for uid in uids]
        return list(self.search(params, len(uids)))

    def read_objects(self, uids: Iterable[str]) -> dict[str, dict[str, Any] | PeerError]:
        """Full JSON of each UID (with its local roles under wire.SHARING_KEY where the kind of
        peer serves them inline); a batch that fails, or that holds an answer whose UID is no
        text, is read again one by one (alone, such an answer is a malformed one). A batch the
        peer is too slow to answer is not: each of its objects fails with it."""
        uids = list(uids)
        try:
            items = self.read_batch(uids)
            if any(not isinstance(item.get("UID"), str) for item in items):
                raise PeerAnswerError(f"The peer answered for {uids[0]} with a UID that is not one.")
        except PeerError as error:
            if len(uids) == 1 or isinstance(error, PeerTimeout | Oversized):
                return dict.fromkeys(uids, error)
            found = {}
            for uid in uids:
                found.update(self.read_objects([uid]))
            return found
        asked = set(uids)
        found = {item["UID"]: item for item in items if item["UID"] in asked}
        return {uid: found.get(uid) or GoneFromPeer(f"The peer no longer has {uid}.") for uid in uids}

    def sharing(self, path: str) -> dict[str, Any]:
        return self.http.get_object(f"{self.object_url(path)}/@sharing")

    def changes_head(self) -> feed.FeedHead | None:
        """Where the peer's change log stands; None for a peer that serves no change feed
        (a stock peer answers 404): it is listed every time."""
        return feed.feed_head(self.http)

    def changes(self, since: int, log: str) -> tuple[list[feed.FeedChange], int]:
        return feed.read_changes(self.http, since, log, max_listing_size())

    def folder_orders(self, uids: Iterable[str]) -> dict[str, list[str]]:
        return feed.folder_orders(self.http, uids, max_listing_size())


class AddonReader(StockReader):
    """Reads a peer that has this add-on: the listing from @sync-list, with positions and a digest
    of what re-dates nothing, in one pass; objects from @sync-read, local roles included."""

    def listing(self, on_page: Callable[[int], None] | None = None) -> list[ListingItem]:
        ranks: dict[str, int] = {}

        def ranked(pages: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            for item in pages:
                position = item.get("position")
                if isinstance(item.get("UID"), str):
                    ranks.setdefault(item["UID"], position if type(position) is int else UNPLACED)
                yield item

        pages = pages_by_uid(self.http, f"{self.url}/{wire.SYNC_LIST}", [], self.page_size, on_page)
        return with_positions(list(self.listed(ranked(pages)).values()), ranks)

    def read_batch(self, uids: list[str]) -> list[dict[str, Any]]:
        answer = self.http.get_object(f"{self.url}/{wire.SYNC_READ}", [("UID", uid) for uid in uids])
        items = answer.get("items")
        if not isinstance(items, list) or not all(isinstance(item, dict) and "UID" in item for item in items):
            raise PeerError(f"The peer's {wire.SYNC_READ} answer has no list of objects.")
        if len(items) > 2 * len(uids):  # a few more are left aside (not asked); this many is no answer
            raise Oversized(f"The peer answers a read of {len(uids)} objects with {len(items)}.")
        return items


def serves_sync_read(http: PeerHTTP) -> bool:
    """Does the peer answer @sync-read (it has this add-on, and the user may use it)?"""
    try:
        answer = http.get_json(f"{http.url}/{wire.SYNC_READ}", retry=False)
    except PeerError:
        return False
    return isinstance(answer, dict) and "items" in answer


def open_reader(http: PeerHTTP) -> PeerReader:
    """The reader for the kind of peer ``http`` talks to (asked once)."""
    return AddonReader(http) if serves_sync_read(http) else StockReader(http)
