"""Import registry records from the peer's stock ``@registry`` listing.

Which records (``select``; the lists are registry_policy.py's):

* ``remote.import_settings``: the harmless Plone settings on the allow-list ``SETTINGS``.
* ``remote.import_registry``: every record whose name starts with one of
  ``remote.registry_prefixes``, the administrator's explicit choice.
* Never a record on the deny-list ``DENIED`` (scripts, the HTML filter, security,
  registration, login URLs, mail), whatever the prefixes: one warning names those a
  prefix selected.

Only records that exist here are written (a selected record the peer has and this site
does not is recorded as the error "no such record here"; so is one listed without a value,
or with a value larger than ``MAX_VALUE_BYTES``). Each JSON value is converted
to the type of the local record's field (tuple, list, set, frozenset, dict, int, float,
Decimal, bool, datetime, date, time, bytes, str), validated by that field and set only
when it differs from the current value, so a second run against an unchanged peer
writes nothing.

The peer's listing is read in pages (registry_listing.py): all of it with
``import_settings`` (``plone.*`` is nearly the whole registry, and the peer's prefix filter
``q`` copies every matching record for each page), else filtered by each prefix. Each
position the listing cannot serve is named by the local record names that sort between
its readable neighbours (both registries list their names in the same sorted order) and
read alone from ``@registry/<name>``, which plone.restapi converts with ``json_compatible``.
"""

import os
import time
from typing import Any
from urllib.parse import quote

import transaction
from Products.CMFCore.utils import getToolByName
from ZODB.POSException import ConflictError
from zope.interface import implementer

from senaite_style_sync.importers.registry_listing import RegistryListing
from senaite_style_sync.importers.registry_policy import SETTINGS
from senaite_style_sync.importers.registry_policy import is_denied
from senaite_style_sync.importers.registry_policy import is_setting
from senaite_style_sync.importers.registry_values import RecordError
from senaite_style_sync.importers.registry_values import set_record
from senaite_style_sync.interfaces import IImporter
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.peer.errors import PeerError
from senaite_style_sync.peer.http import PeerHTTP


STEP = "registry"
DENIED_WARNING = "Never imported (a built-in deny-list; see docs/security.rst): {}"


def selector(remote):
    """The selection of ``remote``: a test of names, a test of name prefixes, the prefixes to list
    ("" is all), and the set that collects the denied names the prefixes selected."""
    settings = bool(remote.import_settings)
    prefixes = [p.strip() for p in (remote.registry_prefixes or ()) if p and p.strip()]
    if not remote.import_registry:
        prefixes = []
    denied: set[str] = set()

    def select(name: str) -> bool:
        chosen = any(name.startswith(prefix) for prefix in prefixes) or (settings and is_setting(name))
        if chosen and is_denied(name):
            denied.add(name)
            return False
        return chosen

    def may_select(start: str) -> bool:
        """Whether some name starting with ``start`` could be selected."""
        if any(prefix.startswith(start) or start.startswith(prefix) for prefix in prefixes):
            return True
        return settings and any(name.startswith(start) for name in SETTINGS)

    if settings:
        # The settings are scattered over the ``plone.*`` records, nearly all of a Plone
        # registry, and the peer filters by copying every matching record for each page:
        # the unfiltered listing is several times cheaper.
        return select, may_select, [""], denied
    # List each name once: a prefix inside another listed prefix adds nothing.
    listed = [p for p in prefixes if not any(p != other and p.startswith(other) for other in prefixes)]
    return select, may_select, listed, denied


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


def import_registry(site, remote, job: Job, http: PeerHTTP) -> None:
    """Import the records ``remote`` selects from the peer's ``@registry`` into ``site``'s registry.

    Counts changed records as ``job.counts["records"]``; records each failing record as an
    error of step "registry", and a listing that cannot be read as one error. Writes only
    values that differ; never commits (the caller does).
    """
    registry = getToolByName(site, "portal_registry")
    select, may_select, prefixes, denied = selector(remote)
    job.heartbeat = time.time()
    seen: set[str] = set()
    for prefix in prefixes:
        listing = RegistryListing(http, prefix)
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
            _import_unreadable(registry, job, http, listing, (select, may_select), seen, count, before, after)
        job.heartbeat = time.time()
    if denied:
        job.add_warning("registry_prefixes", STEP, DENIED_WARNING.format(", ".join(sorted(denied))))


def _import_unreadable(registry, job, http, listing, selection, seen, count, before, after) -> None:
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
            value = http.get_json(f"{http.url}/@registry/{quote(name, safe='')}")
        except PeerError as error:
            job.add_error(name, STEP, f"cannot read it from the peer: {error}")
            continue
        _import_one(registry, job, name, value)


@implementer(IImporter)
class RegistryImporter:
    """Registry records and Plone's own settings (``import_registry``, ``import_settings``)."""

    order = 10

    def enabled(self, remote) -> bool:
        return bool(remote.import_settings or remote.import_registry)

    def __call__(self, site, remote, job: Job, http: PeerHTTP) -> None:
        import_registry(site, remote, job, http)
