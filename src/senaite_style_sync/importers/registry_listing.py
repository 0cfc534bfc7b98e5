"""The peer's registry records under a prefix, read page by page from its stock ``@registry``.

plone.restapi serializes the listing with plain ``json.dumps``, so one record whose value
is not plain JSON (a datetime such as
``plone.app.theming.interfaces.IThemeSettings.custom_css_timestamp``, a set, bytes such as
a custom ``plone.site_logo``) makes the whole page answer HTTP 500. A failing page is
therefore split in halves down to single positions, which are kept aside as unreadable.
"""

from collections.abc import Iterator
from typing import Any

from senaite_style_sync.importers.registry_values import MISSING
from senaite_style_sync.peer.errors import PeerError
from senaite_style_sync.peer.http import PeerHTTP


# Records per listing page: each record comes with its JSON schema, so pages stay moderate.
PAGE = 200
# More records the peer cannot list than this, and the listing counts as failed.
MAX_UNREADABLE = 100
# The most records a registry may hold (Plone's has about 2,000): a peer that says more is not read.
MAX_RECORDS = 100_000


class RegistryListing:
    """The peer's records under one prefix, read page by page; unreadable positions are kept aside."""

    def __init__(self, http: PeerHTTP, prefix: str) -> None:
        self.http = http
        self.prefix = prefix
        self.url = f"{http.url}/@registry"
        self.items: dict[int, tuple[str, Any]] = {}  # position -> (name, JSON value)
        self.unreadable: list[int] = []

    def _page(self, start: int, size: int, *, retry: bool = False) -> dict[str, Any]:
        """One page; without retries unless asked: a failing page is split, not repeated."""
        params = {"q": self.prefix} if self.prefix else {}
        page = self.http.get_json(self.url, params | {"b_start": start, "b_size": size}, retry=retry)
        items = page.get("items") if isinstance(page, dict) else None
        named = isinstance(items, list) and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items)
        if not named:
            raise PeerError(f"The peer answered {self.url} with unexpected JSON.")
        return page

    def total(self) -> int:
        """Number of records under the prefix, from a page past the end (serializes no record)."""
        total = self._page(10**9, 1, retry=True).get("items_total")
        if type(total) is not int or not 0 <= total <= MAX_RECORDS:
            raise PeerError(f"The peer's registry says it holds {total!r:.40} records: not a count this reads.")
        return total

    def read(self) -> None:
        """Read every position; PeerError when the listing itself cannot be read."""
        total = self.total()
        for start in range(0, total, PAGE):
            size = min(PAGE, total - start)
            try:
                self._keep(start, self._page(start, size))
            except PeerError:
                self.total()  # still answering? (with retries) -- else the listing fails as a whole
                self._split(start, size)

    def _keep(self, start: int, page: dict[str, Any]) -> None:
        for offset, item in enumerate(page["items"]):
            self.items[start + offset] = (item["name"], item.get("value", MISSING))

    def _split(self, start: int, size: int) -> None:
        if size == 1:
            self.unreadable.append(start)
            if len(self.unreadable) > MAX_UNREADABLE:
                raise PeerError(f"The peer could not list more than {MAX_UNREADABLE} of its records.")
            return
        half = size // 2
        for part_start, part_size in ((start, half), (start + half, size - half)):
            try:
                self._keep(part_start, self._page(part_start, part_size))
            except PeerError:
                self._split(part_start, part_size)

    def unreadable_runs(self) -> Iterator[tuple[int, str | None, str | None]]:
        """(count, name before, name after) of each run of consecutive unreadable positions."""
        positions = sorted(self.unreadable)
        index = 0
        while index < len(positions):
            first = last = positions[index]
            while index + 1 < len(positions) and positions[index + 1] == last + 1:
                index += 1
                last = positions[index]
            index += 1
            before = self.items.get(first - 1, (None,))[0]
            after = self.items.get(last + 1, (None,))[0]
            yield last - first + 1, before, after
