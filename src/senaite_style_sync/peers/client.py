"""Read a stock plone.restapi peer: list its content, read objects in batches, download blobs.

Every request goes through one PeerSession (TLS verified, credentials only to the peer's
origin). Failing requests (connection errors, timeouts, HTTP 5xx, bad JSON) are retried
with exponential backoff, then raised as PeerError for the caller to record.
"""

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

import requests
import urllib3

from senaite_style_sync.config import product_config
from senaite_style_sync.peers.session import origin
from senaite_style_sync.peers.session import PeerSession


# Seconds to wait for one answer, and the first pause before a retry (doubled each time).
TIMEOUT = 60
BACKOFF = 0.5
LISTING_FIELDS = ("UID", "modified", "portal_type", "review_state")
# Objects per listing page; product-config ``listing-page-size`` changes it (tests lower it).
LISTING_PAGE_SIZE = 1000
LOOKUP_BATCH = 100
# The position of an object whose place among its siblings is not known: after them.
UNPLACED = 2**31
READ_BATCH = 25
DOWNLOAD_CHUNK = 1024 * 256
# Where @sync-read puts an object's local roles (what @sharing would answer).
SHARING_KEY = "@sharing"


def listing_page_size() -> int:
    """Objects per listing page: product-config ``listing-page-size`` (at least 2), else 1000."""
    try:
        return max(int(product_config().get("listing-page-size", LISTING_PAGE_SIZE)), 2)
    except ValueError:
        return LISTING_PAGE_SIZE


class PeerError(Exception):
    """The peer did not give a usable answer, even after retries."""


class GoneFromPeer(PeerError):
    """The peer no longer has an object it listed: deleted there since."""


@dataclass(frozen=True)
class ListingItem:
    """One object as the peer's catalog lists it; ``path`` is relative to the peer's site root."""

    uid: str
    path: str
    portal_type: str
    modified: str
    review_state: str
    position: int

    @property
    def parent_path(self) -> str:
        return self.path.rpartition("/")[0]

    @property
    def id(self) -> str:
        return self.path.rpartition("/")[2]


def with_positions(items: list[ListingItem], ranks: dict[str, int]) -> list[ListingItem]:
    """The items with ``position`` set to their place among their siblings (by ``ranks``);
    an object without a rank goes after its ranked siblings."""
    siblings: dict[str, list[ListingItem]] = defaultdict(list)
    for item in items:
        siblings[item.parent_path].append(item)
    placed = []
    for children in siblings.values():
        children.sort(key=lambda child: (ranks.get(child.uid, len(ranks)), child.uid))
        placed += [replace(child, position=position) for position, child in enumerate(children)]
    return placed


class PeerClient:
    """HTTP reads from one peer, counted in ``requests_made``."""

    def __init__(
        self,
        url: str,
        username: str = "",
        password: str = "",
        certificate_path: str = "",
        *,
        retries: int = 3,
        backoff: float | None = None,
        timeout: float | None = None,
    ) -> None:
        self.session = PeerSession(url, username, password, certificate_path)
        self.url = self.session.peer_url
        self.retries = retries
        self.backoff = BACKOFF if backoff is None else backoff
        self.timeout = TIMEOUT if timeout is None else timeout
        self.requests_made = 0
        self._count_lock = threading.Lock()
        self._base: str | None = None
        self._sync_read: bool | None = None
        self._probe_lock = threading.Lock()
        self.listing_page_size = listing_page_size()

    # -- plumbing ---------------------------------------------------------------

    def _request(self, method: str, url: str, **kwargs) -> requests.Response:
        last_error: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            with self._count_lock:
                self.requests_made += 1
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.RequestException as error:
                last_error = error
                continue
            if response.status_code >= 500:
                last_error = PeerError(f"HTTP {response.status_code} from {url}")
                continue
            return response
        raise PeerError(f"{method} {url} failed after {self.retries + 1} attempts: {last_error}")

    def get_json(self, url: str, params: Any = None) -> dict[str, Any]:
        last_error: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            response = self._request("GET", url, params=params)
            if response.status_code in (401, 403):
                raise PeerError(f"The peer refused access to {url} (HTTP {response.status_code}).")
            if response.status_code == 404:
                raise PeerError(f"Not found on the peer: {url}")
            try:
                data = response.json()
            except ValueError:
                last_error = PeerError(f"The peer answered {url} with something that is not JSON.")
                continue
            if not isinstance(data, dict):
                last_error = PeerError(f"The peer answered {url} with unexpected JSON.")
                continue
            return data
        raise last_error

    @property
    def base(self) -> str:
        """The peer site's own URL for itself (its ``@id``); object paths are relative to it."""
        if self._base is None:
            self._base = self.get_json(self.url)["@id"].rstrip("/")
        return self._base

    def relative_path(self, object_url: str) -> str | None:
        """Path below the peer site; None for the site itself or anything outside it."""
        prefix = self.base + "/"
        return object_url[len(prefix) :] if object_url.startswith(prefix) else None

    def object_url(self, path: str) -> str:
        return f"{self.url}/{path}" if path else self.url

    def _search(self, params: list[tuple[str, Any]]) -> Iterator[dict[str, Any]]:
        """Every item of an unsorted @search, page by page (for small result sets)."""
        url = f"{self.url}/@search"
        page = self.get_json(url, params)
        while True:
            yield from page.get("items", ())
            next_url = (page.get("batching") or {}).get("next")
            if not next_url:
                return
            page = self.get_json(next_url)

    def _pages_by_uid(
        self, params: list[tuple[str, Any]], on_page: Callable[[int], None] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a @search, in UID order, in pages that start after the last UID seen.

        Offsets are not safe for a listing: the catalog orders ties differently for pages
        in the second half of a result set (it sorts those in reverse), and an object
        created, moved or deleted between two requests shifts every later offset. Pages
        that start after a UID see every object that exists throughout the listing exactly
        once. Each page must hold as many items as the peer says are left (up to the page
        size), in strictly increasing UID order; anything else raises PeerError.
        """
        url = f"{self.url}/@search"
        size = self.listing_page_size
        last = ""
        listed = 0
        while True:
            query = params + [("sort_on", "UID"), ("b_size", size)]
            if last:
                query += [("UID.query", last), ("UID.range", "min")]  # "min" includes ``last`` itself
            page = self.get_json(url, query)
            items = page.get("items")
            total = page.get("items_total")
            if not isinstance(items, list) or not isinstance(total, int) or isinstance(total, bool):
                raise PeerError(f"The peer's listing at {url} has no items or no items_total.")
            if len(items) != min(size, total):
                raise PeerError(
                    f"The peer's listing is incomplete: a page holds {len(items)} items where the peer "
                    f"announced {min(size, total)}; nothing is planned from it."
                )
            previous = last
            for item in items:
                uid = item.get("UID") if isinstance(item, dict) else None
                if not isinstance(uid, str) or not uid:
                    raise PeerError("The peer's listing has an item without a UID.")
                if uid == last == previous:
                    continue  # the page's first item: the last one of the page before
                if uid <= previous:
                    raise PeerError(f"The peer's listing repeats or misorders objects (at UID {uid}).")
                previous = uid
                listed += 1
                yield item
            if on_page is not None:
                on_page(listed)
            if len(items) == total:
                return
            last = previous

    # -- reading ----------------------------------------------------------------

    def listing(self, on_page: Callable[[int], None] | None = None) -> list[ListingItem]:
        """Every catalogued object but the site root, each with its position in its folder.

        ``on_page(n)`` is called after each page with the number of objects listed so far.
        """
        params: list[tuple[str, Any]] = [("metadata_fields", name) for name in LISTING_FIELDS]
        items = []
        for item in self._pages_by_uid(params, on_page):
            path = self.relative_path(item.get("@id") or "")
            if not path:  # the site root, or a catalog entry outside the site
                continue
            items.append(
                ListingItem(
                    uid=item["UID"],
                    path=path,
                    portal_type=item.get("portal_type") or item.get("@type") or "",
                    modified=item.get("modified") or "",
                    review_state=item.get("review_state") or "",
                    position=0,
                )
            )
        return with_positions(items, self.folder_ranks())

    def folder_ranks(self) -> dict[str, int]:
        """UID -> rank in the peer's folder order (getObjPositionInParent, ties broken by UID).

        Read with offsets: only the order of siblings comes from here, and an object that a
        concurrent change makes this miss is merely placed last among its siblings.
        """
        url = f"{self.url}/@search"
        size = self.listing_page_size
        params = [("sort_on", "getObjPositionInParent"), ("sort_on", "UID"), ("metadata_fields", "UID")]
        ranks: dict[str, int] = {}
        start = 0
        while True:
            page = self.get_json(url, params + [("b_start", start), ("b_size", size)])
            items = page.get("items") if isinstance(page.get("items"), list) else []
            for offset, item in enumerate(items):
                uid = item.get("UID") if isinstance(item, dict) else None
                if isinstance(uid, str):
                    ranks.setdefault(uid, start + offset)
            start += size
            total = page.get("items_total")
            if not items or not isinstance(total, int) or start >= total:
                return ranks

    def default_page_uids(self) -> set[str]:
        params = [("is_default_page", "true"), ("metadata_fields", "UID")]
        return {item["UID"] for item in self._pages_by_uid(params)}

    def existing(self, uids: Iterable[str]) -> list[ListingItem]:
        """The listing items of those ``uids`` the peer still has (batched UID queries)."""
        uids = list(uids)
        found: list[ListingItem] = []
        for start in range(0, len(uids), LOOKUP_BATCH):
            batch = uids[start : start + LOOKUP_BATCH]
            params: list[tuple[str, Any]] = [("UID", uid) for uid in batch]
            params += [("metadata_fields", name) for name in LISTING_FIELDS] + [("b_size", len(batch))]
            for item in self._search(params):
                path = self.relative_path(item.get("@id") or "")
                if path and item.get("UID") in batch:
                    found.append(
                        ListingItem(
                            item["UID"], path, item.get("portal_type") or "", item.get("modified") or "",
                            item.get("review_state") or "", UNPLACED,
                        )
                    )
        return found

    @property
    def serves_sync_read(self) -> bool:
        """Does the peer answer @sync-read (it has this add-on, and the user may use it)?"""
        with self._probe_lock:  # reader threads ask at once: one of them probes
            if self._sync_read is None:
                try:
                    response = self._request("GET", f"{self.url}/@sync-read")
                    answer = response.json() if response.status_code == 200 else None
                    self._sync_read = isinstance(answer, dict) and "items" in answer
                except (PeerError, ValueError):
                    self._sync_read = False
            return self._sync_read

    def _read_batch(self, uids: list[str]) -> list[dict[str, Any]]:
        if self.serves_sync_read:
            items = self.get_json(f"{self.url}/@sync-read", [("UID", uid) for uid in uids]).get("items")
            if not isinstance(items, list) or not all(isinstance(item, dict) and "UID" in item for item in items):
                raise PeerError("The peer's @sync-read answer has no list of objects.")
            return items
        params: list[tuple[str, Any]] = [("fullobjects", "1"), ("expand", "workflow"), ("b_size", len(uids))]
        params += [("UID", uid) for uid in uids]
        return list(self._search(params))

    def read_objects(self, uids: Iterable[str]) -> dict[str, dict[str, Any] | PeerError]:
        """Full JSON (with review history; with local roles under SHARING_KEY when the peer
        serves @sync-read) of each UID; a batch that fails is re-read one by one."""
        uids = list(uids)
        try:
            found = {item["UID"]: item for item in self._read_batch(uids)}
        except PeerError as error:
            if len(uids) == 1:
                return {uids[0]: error}
            found = {}
            for uid in uids:
                found.update(self.read_objects([uid]))
            return found
        return {uid: found.get(uid) or GoneFromPeer(f"The peer no longer has {uid}.") for uid in uids}

    def sharing(self, path: str) -> dict[str, Any]:
        return self.get_json(f"{self.object_url(path)}/@sharing")

    def download(self, url: str) -> str:
        """Stream ``url`` into a new temporary file and return its path; the caller owns the file.

        Credentials go only to the peer's own origin: a blob URL elsewhere is refused.
        """
        if origin(url) != origin(self.url):
            raise PeerError(f"Refusing to download {url}: it is not on the peer's origin.")
        response = self._request("GET", url, stream=True)
        if response.status_code != 200:
            raise PeerError(f"Download of {url} answered HTTP {response.status_code}.")
        response.raw.decode_content = True
        with tempfile.NamedTemporaryFile(prefix="sync-blob-", delete=False) as stream:
            try:
                with response:
                    shutil.copyfileobj(response.raw, stream, DOWNLOAD_CHUNK)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
                os.unlink(stream.name)
                raise PeerError(f"Download of {url} broke off: {error}") from error
        return stream.name
