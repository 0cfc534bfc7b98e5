"""Import registry records from the peer's stock ``@registry`` listing.

Which records (``select``):

* ``remote.import_settings``: Plone's own settings, the records named ``plone.*``, except
  secrets and instance-specific records (see ``SETTINGS_EXCLUDED_PREFIXES``,
  ``SECRET_SUBSTRINGS`` and ``SECRET_WORDS``).
* ``remote.import_registry``: every record whose name starts with one of
  ``remote.registry_prefixes``. These prefixes are the administrator's explicit choice and
  are taken as they are: the exclusions above do not apply to them.

Only records that exist here are written (a selected record the peer has and this site
does not is recorded as the error "no such record here"). Each JSON value is converted
to the type of the local record's field (tuple, list, set, frozenset, dict, int, float,
Decimal, bool, datetime, date, time, bytes, str), validated by that field and set only
when it differs from the current value, so a second run against an unchanged peer
writes nothing.

The peer's listing is read in pages (``b_start``/``b_size``): all of it with
``import_settings`` (``plone.*`` is nearly the whole registry, and the peer's prefix filter
``q`` copies every matching record for each page), else filtered by each prefix.
plone.restapi serializes the listing with plain ``json.dumps``, so one record whose value
is not plain JSON (a datetime such as
``plone.app.theming.interfaces.IThemeSettings.custom_css_timestamp``, a set, bytes such as
a custom ``plone.site_logo``) makes the whole page answer HTTP 500. A failing page is
therefore split in halves down to single positions; each unreadable position is named by
the local record names that sort between its readable neighbours (both registries list
their names in the same sorted order) and read alone from ``@registry/<name>``, which
plone.restapi converts with ``json_compatible``.
"""

import copy
import os
import re
import time
from collections.abc import Iterator
from datetime import date
from datetime import datetime
from datetime import time as time_of_day
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import transaction
from Products.CMFCore.utils import getToolByName
from ZODB.POSException import ConflictError
from zope.schema.interfaces import IChoice
from zope.schema.interfaces import IObject

from senaite_style_sync.jobs.store import Job
from senaite_style_sync.peers.client import PeerClient
from senaite_style_sync.peers.client import PeerError


STEP = "registry"
# Records per listing page: each record comes with its JSON schema, so pages stay moderate.
PAGE = 200
# More records the peer cannot list than this, and the listing counts as failed.
MAX_UNREADABLE = 100
# Prefix of Plone's own records, imported with ``import_settings``.
SETTINGS_PREFIX = "plone."
# Within ``plone.*``: records that describe this instance rather than the site's settings.
SETTINGS_EXCLUDED_PREFIXES = (
    "plone.bundles/",  # resource registry: bundles of the add-ons installed here, compile stamps
    "plone.resources",  # resource registry: plone.resources/*, .development, .last_legacy_import
    "plone.cachepurging.",  # caching proxy addresses of this installation
    "plone.app.theming.",  # the peer's theme may not be installed here: importing it could break rendering
)
# Within ``plone.*``: secrets and mail-server access, matched anywhere in the lower-cased name.
SECRET_SUBSTRINGS = ("smtp", "password", "passwd", "secret")
# ... and as whole words of the name (split at anything but letters and digits), so that
# "plone.roles_allowed_to_add_keywords" stays in while "plone.some_key" is out.
SECRET_WORDS = frozenset({"key", "keys", "token", "tokens", "salt", "pass", "credentials"})


class RecordError(Exception):
    """One record cannot be imported; the message is recorded on the job."""


# -- reading the peer -------------------------------------------------------------


def peer_json(client: PeerClient, url: str, params: Any = None) -> Any:
    """GET any JSON (``PeerClient.get_json`` accepts only objects); HTTP errors raise PeerError.

    Retries of connection errors and HTTP 5xx are the client's own (``client.retries``).
    """
    response = client._request("GET", url, params=params)
    if response.status_code in (401, 403):
        raise PeerError(f"The peer refused access to {url} (HTTP {response.status_code}).")
    if response.status_code == 404:
        raise PeerError(f"Not found on the peer: {url}")
    if response.status_code >= 400:
        raise PeerError(f"HTTP {response.status_code} from {url}")
    try:
        return response.json()
    except ValueError as error:
        raise PeerError(f"The peer answered {url} with something that is not JSON.") from error


def without_retries(client: PeerClient) -> PeerClient:
    """A copy of ``client`` that does not retry (same session); fold its ``requests_made`` back."""
    quick = copy.copy(client)
    quick.retries = 0
    quick.requests_made = 0
    return quick


class RegistryListing:
    """The peer's records under one prefix, read page by page; unreadable positions are kept aside."""

    def __init__(self, client: PeerClient, prefix: str) -> None:
        self.client = client
        self.quick = without_retries(client)
        self.prefix = prefix
        self.url = f"{client.url}/@registry"
        self.items: dict[int, tuple[str, Any]] = {}  # position -> (name, JSON value)
        self.unreadable: list[int] = []

    def _page(self, client: PeerClient, start: int, size: int) -> dict[str, Any]:
        params = {"q": self.prefix} if self.prefix else {}
        page = peer_json(client, self.url, params | {"b_start": start, "b_size": size})
        items = page.get("items") if isinstance(page, dict) else None
        named = isinstance(items, list) and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items)
        if not named:
            raise PeerError(f"The peer answered {self.url} with unexpected JSON.")
        return page

    def total(self) -> int:
        """Number of records under the prefix, from a page past the end (serializes no record)."""
        return int(self._page(self.client, 10**9, 1).get("items_total") or 0)

    def read(self) -> None:
        """Read every position; PeerError when the listing itself cannot be read."""
        try:
            total = self.total()
            for start in range(0, total, PAGE):
                size = min(PAGE, total - start)
                try:
                    self._keep(start, self._page(self.quick, start, size))
                except PeerError:
                    self.total()  # still answering? (with retries) -- else the listing fails as a whole
                    self._split(start, size)
        finally:
            self.client.requests_made += self.quick.requests_made
            self.quick.requests_made = 0

    def _keep(self, start: int, page: dict[str, Any]) -> None:
        for offset, item in enumerate(page["items"]):
            self.items[start + offset] = (item["name"], item.get("value"))

    def _split(self, start: int, size: int) -> None:
        if size == 1:
            self.unreadable.append(start)
            if len(self.unreadable) > MAX_UNREADABLE:
                raise PeerError(f"The peer could not list more than {MAX_UNREADABLE} of its records.")
            return
        half = size // 2
        for part_start, part_size in ((start, half), (start + half, size - half)):
            try:
                self._keep(part_start, self._page(self.quick, part_start, part_size))
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


# -- which records ------------------------------------------------------------------


def is_excluded_setting(name: str) -> bool:
    """Whether a ``plone.*`` record stays out of the settings import (secret or instance-specific)."""
    lowered = name.lower()
    if lowered.startswith(SETTINGS_EXCLUDED_PREFIXES):
        return True
    if any(part in lowered for part in SECRET_SUBSTRINGS):
        return True
    return bool(SECRET_WORDS.intersection(re.split(r"[^a-z0-9]+", lowered)))


def selector(remote):
    """The selection of ``remote``: a test of names, a test of name prefixes, the prefixes to list ("" is all)."""
    settings = bool(remote.import_settings)
    prefixes = [p.strip() for p in (remote.registry_prefixes or ()) if p and p.strip()]
    if not remote.import_registry:
        prefixes = []

    def select(name: str) -> bool:
        if any(name.startswith(prefix) for prefix in prefixes):
            return True
        return settings and name.startswith(SETTINGS_PREFIX) and not is_excluded_setting(name)

    def may_select(start: str) -> bool:
        """Whether some name starting with ``start`` could be selected."""
        if any(prefix.startswith(start) or start.startswith(prefix) for prefix in prefixes):
            return True
        if not settings:
            return False
        if SETTINGS_PREFIX.startswith(start):
            return True
        lowered = start.lower()
        return (
            start.startswith(SETTINGS_PREFIX)
            and not lowered.startswith(SETTINGS_EXCLUDED_PREFIXES)
            and not any(part in lowered for part in SECRET_SUBSTRINGS)
        )

    if settings:
        # ``plone.*`` is nearly all of a Plone registry, and the peer filters by copying every
        # matching record for each page: the unfiltered listing is several times cheaper.
        return select, may_select, [""]
    # List each name once: a prefix inside another listed prefix adds nothing.
    listed = [p for p in prefixes if not any(p != other and p.startswith(other) for other in prefixes)]
    return select, may_select, listed


# -- converting and setting values -------------------------------------------------


def from_json(field, value: Any) -> Any:
    """The JSON ``value`` as the Python type ``field`` stores; RecordError when it cannot be."""
    if value is None:
        return field.missing_value
    if IChoice.providedBy(field):
        return value  # the vocabulary's own terms: validation decides
    if IObject.providedBy(field):
        raise RecordError(f"cannot import a value of a {type(field).__name__} field")
    kind = getattr(field, "_type", None)
    if isinstance(kind, tuple) or kind is None:
        return value  # e.g. JSONField: the JSON value itself
    if kind in (tuple, list, set, frozenset):
        if not isinstance(value, list):
            raise RecordError(f"expected a list, got {type(value).__name__}")
        value_type = getattr(field, "value_type", None)
        return kind(from_json(value_type, v) if value_type is not None else v for v in value)
    if kind is dict:
        if not isinstance(value, dict):
            raise RecordError(f"expected an object, got {type(value).__name__}")
        key_type = getattr(field, "key_type", None)
        value_type = getattr(field, "value_type", None)
        return {
            (from_json(key_type, k) if key_type is not None else k): (
                from_json(value_type, v) if value_type is not None else v
            )
            for k, v in value.items()
        }
    try:
        return _scalar(kind, value)
    except (TypeError, ValueError, ArithmeticError) as error:
        raise RecordError(f"cannot read {value!r} as {kind.__name__}: {error}") from error


def _scalar(kind: type, value: Any) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise TypeError("not a boolean")
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean")
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("not a whole number")
        return int(value)
    if kind is float:
        return float(value)
    if kind is Decimal:
        return Decimal(str(value))
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value[:10])
    if kind is time_of_day:
        return time_of_day.fromisoformat(value)
    if kind is bytes:
        if not isinstance(value, str):
            raise TypeError("not a string")
        return value.encode("utf-8")
    if kind is str:
        if not isinstance(value, str):
            raise TypeError("not a string")
        return value
    if isinstance(value, kind):
        return value
    raise TypeError(f"unsupported field type {kind.__name__}")


def same(current: Any, value: Any) -> bool:
    """Equal and of the same kind (a set is not a frozenset, nor 1 a True; a Message is a str)."""
    if current != value:
        return False
    for kind in (str, bytes):
        if isinstance(current, kind) and isinstance(value, kind):
            return True
    return type(current) is type(value)


def set_record(registry, name: str, json_value: Any) -> bool:
    """Set the local record ``name`` from the peer's JSON value; True if it changed."""
    if name not in registry.records:
        raise RecordError("no such record here")
    record = registry.records[name]
    field = record.field
    value = from_json(field, json_value)
    if same(record.value, value):
        return False
    bound = field.bind(record)
    if value != field.missing_value:
        try:
            bound.validate(value)
        except ConflictError:
            raise
        except Exception as error:  # noqa: BLE001 -- any validation error is this record's failure
            raise RecordError(f"invalid value {json_value!r}: {type(error).__name__}: {error}") from error
    record.value = value
    return True


def _import_one(registry, job: Job, name: str, json_value: Any) -> None:
    """Set one record; its failure is recorded and rolled back, the import goes on."""
    savepoint = transaction.savepoint(optimistic=True)
    try:
        if set_record(registry, name, json_value):
            job.count("records")
    except ConflictError:
        raise
    except RecordError as error:
        savepoint.rollback()
        job.add_error(name, STEP, str(error))
    except Exception as error:  # noqa: BLE001 -- e.g. a subscriber of the modified event failed
        savepoint.rollback()
        job.add_error(name, STEP, f"{type(error).__name__}: {error}")


# -- the import ------------------------------------------------------------------------


def import_registry(site, remote, job: Job, client: PeerClient) -> None:
    """Import the records ``remote`` selects from the peer's ``@registry`` into ``site``'s registry.

    Counts changed records as ``job.counts["records"]``; records each failing record as an
    error of step "registry", and a listing that cannot be read as one error. Writes only
    values that differ; never commits (the caller does).
    """
    registry = getToolByName(site, "portal_registry")
    select, may_select, prefixes = selector(remote)
    job.heartbeat = time.time()
    seen: set[str] = set()
    for prefix in prefixes:
        listing = RegistryListing(client, prefix)
        try:
            listing.read()
        except PeerError as error:
            job.add_error(f"@registry?q={prefix}" if prefix else "@registry", STEP, str(error))
            continue
        for position in sorted(listing.items):
            name, value = listing.items[position]
            if name in seen or not select(name):
                continue
            seen.add(name)
            _import_one(registry, job, name, value)
        for count, before, after in listing.unreadable_runs():
            _import_unreadable(registry, job, client, listing, (select, may_select), seen, count, before, after)
        job.heartbeat = time.time()


def _import_unreadable(registry, job, client, listing, selection, seen, count, before, after) -> None:
    """Name ``count`` unreadable positions by the local names between their neighbours; read each alone."""
    select, may_select = selection
    # Every name between the neighbours starts with what they have in common.
    common = os.path.commonprefix([before, after]) if before is not None and after is not None else listing.prefix
    if not may_select(common):
        return
    low = before if before is not None else listing.prefix
    candidates = [
        name
        for name in registry.records.keys(low, after)  # both ends included: excluded below
        if name.startswith(listing.prefix) and name != before and name != after
    ]
    where = f"between {before or '(start)'} and {after or '(end)'} under {listing.prefix}"
    if len(candidates) != count:
        job.add_error(where, STEP, f"the peer could not list {count} record(s) here, and they cannot be named")
        return
    for name in candidates:
        if name in seen or not select(name):
            continue
        seen.add(name)
        try:
            value = peer_json(client, f"{client.url}/@registry/{quote(name, safe='')}")
        except PeerError as error:
            job.add_error(name, STEP, f"cannot read it from the peer: {error}")
            continue
        _import_one(registry, job, name, value)

