"""The peer's listing: every object once, in pages that start after the last UID seen, with positions.

Offsets are not safe for a listing: the catalog sorts the pages in the second half of a
result set in reverse, so ties on a shared sort key (the position in the folder) fall in
another order and offsets repeat some objects and skip others; and an object created,
moved or deleted between two requests shifts every later offset. Pages that start after a
UID see every object that exists throughout the listing exactly once.
"""

import re
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

from senaite_style_sync.config import product_config
from senaite_style_sync.peer.errors import PeerError
from senaite_style_sync.peer.http import PeerHTTP


LISTING_FIELDS = ("UID", "modified", "portal_type", "review_state")
# Objects per listing page; product-config ``listing-page-size`` changes it (tests lower it).
LISTING_PAGE_SIZE = 1000
# The position of an object whose place among its siblings is not known: after them.
UNPLACED = 2**31
# The longest text a listing field may hold.
MAX_TEXT = 2000
# The most objects a listing may hold: product-config ``max-listing-size``, else this; and never
# more than twice what the peer announced at its start, plus a margin for objects added meanwhile.
MAX_LISTING = 5_000_000
LISTING_MARGIN = 10_000


def max_listing_size() -> int:
    try:
        return int(product_config().get("max-listing-size", MAX_LISTING))
    except ValueError:
        return MAX_LISTING


def listing_page_size() -> int:
    """Objects per listing page: product-config ``listing-page-size`` (at least 2), else 1000."""
    try:
        return max(int(product_config().get("listing-page-size", LISTING_PAGE_SIZE)), 2)
    except ValueError:
        return LISTING_PAGE_SIZE


@dataclass(frozen=True)
class ListingItem:
    """One object as the peer's catalog lists it; ``path`` is relative to the peer's site root."""

    uid: str
    path: str
    portal_type: str
    modified: str
    review_state: str
    position: int = UNPLACED  # among its siblings
    meta: str = ""  # a digest of what changes without re-dating the object, where the peer serves one

    @property
    def parent_path(self) -> str:
        return self.path.rpartition("/")[0]

    @property
    def id(self) -> str:
        return self.path.rpartition("/")[2]


UID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


def text(item: dict[str, Any], key: str, required: bool = False) -> str:
    value = item.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value) or len(value) > MAX_TEXT:
        raise ValueError(f"its {key} is not a (short) text: {value!r:.80}")
    return value


def listing_item(item: dict[str, Any], path: str) -> ListingItem:
    """A ListingItem from one @search item (with LISTING_FIELDS) at ``path``; ValueError, saying
    why, for an item with a field of the wrong kind."""
    uid = item.get("UID")
    if not isinstance(uid, str) or not UID.match(uid):
        raise ValueError(f"its UID is not one: {uid!r:.80}")
    return ListingItem(
        uid=uid,
        path=path,
        portal_type=text(item, "portal_type") or text(item, "@type", required=True),
        modified=text(item, "modified"),
        review_state=text(item, "review_state"),
        # A hint only: one that is no text is left out (the object is read as from a stock
        # peer); a text too long to keep is an error, as for the other fields.
        meta=text(item, "meta") if isinstance(item.get("meta"), str) else "",
    )


def with_positions(items: list[ListingItem], ranks: dict[str, int]) -> list[ListingItem]:
    """The items with ``position`` set to their place among their siblings (by ``ranks``);
    an object without a rank goes after its ranked siblings."""
    siblings: dict[str, list[ListingItem]] = defaultdict(list)
    for item in items:
        siblings[item.parent_path].append(item)
    placed = []
    for children in siblings.values():
        children.sort(key=lambda child: (ranks.get(child.uid, UNPLACED), child.uid))
        placed += [replace(child, position=position) for position, child in enumerate(children)]
    return placed


def is_count(value: Any) -> bool:
    """A JSON number of objects (bool is an int in Python, not in JSON)."""
    return isinstance(value, int) and not isinstance(value, bool)


def checked_page(page: dict[str, Any], url: str, size: int) -> tuple[list[Any], int]:
    """A listing page's items and ``items_total``; PeerError unless it holds all it announces."""
    items = page.get("items")
    total = page.get("items_total")
    if not isinstance(items, list) or not is_count(total):
        raise PeerError(f"The peer's listing at {url} has no items or no items_total.")
    if len(items) != min(size, total):
        raise PeerError(
            f"The peer's listing is incomplete: a page holds {len(items)} items where the peer "
            f"announced {min(size, total)}; nothing is planned from it."
        )
    return items, total


def pages_by_uid(
    http: PeerHTTP,
    url: str,
    params: list[tuple[str, Any]],
    size: int,
    on_page: Callable[[int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every item of a @search at ``url``, in UID order, each page starting after the last UID seen.

    Each page must hold as many items as the peer says are left (up to ``size``), in increasing
    UID order; anything else raises PeerError. (Two catalog entries may carry one UID, a stale
    entry beside the live one: both are yielded.) ``on_page(n)`` is called after each page with
    the number of items so far.
    """
    last = ""
    listed = 0
    most = max_listing_size()
    while True:
        query = params + [("sort_on", "UID"), ("b_size", size)]
        if last:
            query += [("UID.query", last), ("UID.range", "min")]  # "min" includes ``last`` itself
        items, total = checked_page(http.get_object(url, query), url, size)
        if not last:  # a listing may grow while it is read, but not without end
            if total > most:
                raise PeerError(f"The peer's listing at {url} announces {total} objects, more than {most}; given up.")
            most = min(most, 2 * total + LISTING_MARGIN)
        previous = last
        previous_url = None
        for item in items:
            uid = item.get("UID") if isinstance(item, dict) else None
            if isinstance(uid, str) and uid:
                if uid == last:
                    continue  # the UID the page starts at: listed with the page before
                if uid < previous:
                    raise PeerError(f"The peer's listing misorders objects (at UID {uid!r:.80}).")
                if uid == previous and item.get("@id") == previous_url:
                    # A stale catalog entry has another path; the same entry twice hides another.
                    raise PeerError(f"The peer's listing holds one entry twice (UID {uid!r:.80}).")
                previous, previous_url = uid, item.get("@id")
            listed += 1  # an item without a UID too: the reader lists it as left out
            if listed > most:
                raise PeerError(f"The peer's listing goes on beyond {most} objects; given up.")
            yield item if isinstance(item, dict) else {"@id": None, "UID": None, "item": item}
        if on_page is not None:
            on_page(listed)
        if len(items) == total:
            return
        if previous == last:
            raise PeerError("The peer's listing does not advance (a page without new UIDs).")
        last = previous


def folder_ranks(http: PeerHTTP, url: str, size: int, listed: int) -> dict[str, int]:
    """UID -> rank in the peer's folder order (getObjPositionInParent, ties broken by UID).

    Read with offsets: only the order of siblings comes from here, and an object that a
    concurrent change makes this miss is merely placed last among its siblings. The order
    may count a few objects more or less than the ``listed`` ones (changes in between),
    never many more: PeerError.
    """
    params = [("sort_on", "getObjPositionInParent"), ("sort_on", "UID"), ("metadata_fields", "UID")]
    ranks: dict[str, int] = {}
    start = 0
    end = 2 * listed + LISTING_MARGIN  # the first page says how many there are
    while True:
        page = http.get_object(url, params + [("b_start", start), ("b_size", size)])
        items = page.get("items") if isinstance(page.get("items"), list) else []
        for offset, item in enumerate(items):
            uid = item.get("UID") if isinstance(item, dict) else None
            if isinstance(uid, str):
                ranks.setdefault(uid, start + offset)
        total = page.get("items_total")
        if not start:
            if is_count(total) and total > end:
                raise PeerError(f"The peer's folder order counts {total} objects, where its listing has {listed}.")
            end = min(end, total) if is_count(total) else 0
        start += size
        if not items or start >= end:
            return ranks
