"""Reading a checked bundle (peer/bundle.py) as the sync reads a peer with this add-on.

Its listing or change feed, its objects and their files come from the bundle's members,
through the same checks of a peer's answers as over HTTP (peer/readers.py).
"""

from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from senaite_style_sync.peer.bundle import MAX_OBJECT_BYTES
from senaite_style_sync.peer.bundle import Bundle
from senaite_style_sync.peer.bundle import BundleError
from senaite_style_sync.peer.feed import FeedChange
from senaite_style_sync.peer.feed import FeedError
from senaite_style_sync.peer.feed import FeedGone
from senaite_style_sync.peer.feed import FeedHead
from senaite_style_sync.peer.feed import parse_change
from senaite_style_sync.peer.listing import MAX_TEXT
from senaite_style_sync.peer.listing import UID
from senaite_style_sync.peer.listing import UNPLACED
from senaite_style_sync.peer.listing import ListingItem
from senaite_style_sync.peer.listing import max_listing_size
from senaite_style_sync.peer.listing import with_positions
from senaite_style_sync.peer.readers import AddonReader


class BundleFiles:
    """What the sync asks of a peer's HTTP besides reads: its files, here from the bundle."""

    def __init__(self, bundle: Bundle, url: str, tmpdir: str | None) -> None:
        self.bundle = bundle
        self.url = url
        self.tmpdir = tmpdir
        self.requests_made = 0

    def download(self, url: str, size: int | None = None, sha256: str | None = None) -> str:
        if not sha256:
            raise BundleError(f"The bundle states no sha256 for {url[:200]}: the file cannot be found in it.")
        return self.bundle.blob_to(sha256, self.tmpdir, size)


class BundleReader(AddonReader):
    """Reads a checked bundle as the sync reads a peer with this add-on (peer/readers.py)."""

    def __init__(self, bundle: Bundle, tmpdir: str | None = None) -> None:
        manifest = bundle.manifest
        super().__init__(BundleFiles(bundle, manifest["site_url"].rstrip("/"), tmpdir))  # type: ignore[arg-type]
        self.bundle = bundle
        self.manifest = manifest
        self._base = manifest["site_url"].rstrip("/")
        self.identity = manifest["origin"]
        self._lookup: dict[str, dict[str, Any]] | None = None
        self._orders: dict[str, Any] | None = None
        self._changes: tuple[list[FeedChange], int] | None = None

    @property
    def everything(self) -> bool:
        return self.manifest["since"] is None

    def listing(self, on_page: Callable[[int], None] | None = None) -> list[ListingItem]:
        if not self.everything:
            raise BundleError("This bundle holds changes, not everything: it has no listing.")
        ranks: dict[str, int] = {}
        items = []
        for item in self.bundle.lines("listing.jsonl", max_listing_size()):
            if not isinstance(item, dict):
                raise BundleError("The bundle's listing holds an entry that is no object.")
            position = item.get("position")
            if isinstance(item.get("UID"), str):
                ranks.setdefault(item["UID"], position if type(position) is int else UNPLACED)
            items.append(item)
        if on_page is not None:
            on_page(len(items))
        return with_positions(list(self.listed(iter(items)).values()), ranks)

    def default_page_uids(self) -> set[str]:
        uids = self.bundle.json("default_pages.json") if "default_pages.json" in self.bundle.members else []
        if not isinstance(uids, list) or not all(isinstance(uid, str) and UID.fullmatch(uid) for uid in uids):
            raise BundleError("The bundle's default pages are not a list of UIDs.")
        return set(uids)

    def lookup(self) -> dict[str, dict[str, Any]]:
        if self._lookup is None:
            self._lookup = {}
            for item in self.bundle.lines("lookup.jsonl", max_listing_size()):
                if not isinstance(item, dict) or not isinstance(item.get("UID"), str):
                    raise BundleError("The bundle's lookup holds an entry without a UID.")
                self._lookup[item["UID"]] = item
        return self._lookup

    def existing(self, uids: Iterable[str]) -> list[ListingItem]:
        """Those of ``uids`` the sending site had when it wrote the bundle."""
        found = []
        self.unreadable = set()
        lookup = self.lookup()
        for uid in uids:
            if uid in lookup:
                self.take_found(uid, lookup[uid], found)
        return found

    def read_batch(self, uids: list[str]) -> list[dict[str, Any]]:
        items = []
        for uid in uids:
            name = f"objects/{uid}.json"
            if isinstance(uid, str) and UID.fullmatch(uid) and name in self.bundle.members:
                item = self.bundle.json(name, MAX_OBJECT_BYTES)
                if not isinstance(item, dict):
                    raise BundleError(f"The bundle's {name} is not a JSON object.")
                items.append(item)
        return items

    def sharing(self, path: str) -> dict[str, Any]:
        raise BundleError(f"The bundle holds no local roles of {path[:200]}.")

    def changes_head(self) -> FeedHead | None:
        return FeedHead(self.manifest["log"], self.manifest["head"])

    def changes(self, since: int, log: str) -> tuple[list[FeedChange], int]:
        """The bundle's entries, when it starts where the checkpoint is."""
        if self.everything or log != self.manifest["log"] or since != self.manifest["since"]:
            raise FeedGone("The bundle does not start at this Remote's checkpoint.")
        if self._changes is not None:
            return self._changes
        changes = []
        previous = since
        for item in self.bundle.lines("changes.jsonl", max_listing_size()):
            try:
                change = parse_change(item)
            except ValueError as error:
                raise FeedError(f"The bundle's change feed is malformed: {error}.") from None
            if not previous < change.seq <= self.manifest["head"]:
                raise FeedError(f"The bundle's change feed misorders its entries (at {change.seq}).")
            previous = change.seq
            changes.append(change)
        self._changes = (changes, self.manifest["head"])
        return self._changes

    def folder_orders(self, uids: Iterable[str]) -> dict[str, list[str]]:
        if self._orders is None:
            orders = self.bundle.json("orders.json") if "orders.json" in self.bundle.members else {}
            if not isinstance(orders, dict):
                raise FeedError("The bundle's folder orders are not a JSON object.")
            self._orders = orders
        result = {}
        for uid in uids:
            ids = self._orders.get(uid)
            if ids is None:
                continue
            if (
                not isinstance(ids, list)
                or len(ids) > max_listing_size()
                or not all(isinstance(item_id, str) and 0 < len(item_id) <= MAX_TEXT for item_id in ids)
            ):
                raise FeedError(f"The bundle's order of the folder {uid} is not a list of ids.")
            result[uid] = ids
        return result
