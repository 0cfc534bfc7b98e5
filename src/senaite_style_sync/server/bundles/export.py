"""Write a bundle of this site: everything, or the change feed's entries after a number.

A bundle holds what a site pulling from this one would read (peer/wire.py, "Offline
bundles"), as the current user may see it, the way @sync-list, @sync-changes and
@sync-read serve it. It is written as one transaction's snapshot: the change log's head
and the objects are those of the same moment.
"""

import uuid
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from typing import Any

from Acquisition import aq_base
from plone.namedfile.interfaces import INamedFile
from Products.CMFCore.utils import getToolByName

from senaite_style_sync.model.changes import change_log
from senaite_style_sync.peer import wire
from senaite_style_sync.peer.bundle import BundleWriter
from senaite_style_sync.peer.bundle import sign
from senaite_style_sync.server.sync_changes.get import folder_orders
from senaite_style_sync.server.sync_changes.get import visible_items
from senaite_style_sync.server.sync_list.get import listing_items
from senaite_style_sync.sync.served import served


CACHE_EVERY = 500


class ExportError(Exception):
    """The bundle asked for cannot be written (no change log, or it no longer reaches back)."""


def export_bundle(
    site,
    request,
    path: str,
    key: bytes,
    since: int | None = None,
    previous: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write the bundle to the file at ``path``, signed with ``key``; its manifest.

    ``since`` None: everything; a number: the change feed's entries after it. ``previous``:
    the id of the bundle sent before this one to the same site.
    """
    log = change_log(site)
    if log is None:
        raise ExportError("This site keeps no change log: install the add-on's profile again.")
    if not key:
        raise ExportError("No bundle key is stored for this Remote: a bundle is signed with it.")
    head = log.head
    if since is not None and not log.floor <= since <= head:
        raise ExportError(
            f"This site's change log no longer reaches back to {since} (it is complete after {log.floor},"
            f" up to {head}): export everything."
        )
    with open(path, "wb") as stream:
        manifest = write_records(site, request, BundleWriter(stream), log, head, since, previous, progress)
    sign(path, key)
    return manifest


def write_records(
    site, request, writer: BundleWriter, log, head: int, since, previous: str, progress
) -> dict[str, Any]:
    catalog = getToolByName(site, "portal_catalog")
    writer.add_json("site.json", {"@id": site.absolute_url(), "UID": site.UID()})
    if since is None:
        brains = catalog.searchResults(sort_on="UID")
        listing = listing_items(brains)
        writer.add_lines("listing.jsonl", listing)
        writer.add_json(
            "default_pages.json", sorted(brain.UID for brain in catalog.searchResults(is_default_page=True))
        )
        live = [brain.UID for brain in brains]
        lookup = listing  # everything is listed: the lookup holds the same entries, computed once
        folders: set[str] = set()
    else:
        items = visible_items(site, log, log.page(since, head - since + 1))
        writer.add_lines("changes.jsonl", items)
        newest = {item["uid"]: item for item in items}
        live = [
            uid
            for uid, item in newest.items()
            if item.get("path") and not item.get("deleted") and not item.get("withheld")
        ]
        # What a lookup may ask: the objects (also those the feed says are gone: still here?) and their folders.
        wanted = set(newest) | {parent for uid in live for parent in newest[uid].get("parents", ())}
        folders = {uid for uid, item in newest.items() if "order" in item.get("kinds", ())}
        folders |= {newest[uid]["parents"][0] for uid in live if newest[uid].get("parents")}
        folders.add(site.UID())
        lookup = listing_items(catalog.searchResults(UID=sorted(wanted))) if wanted else []
    writer.add_lines("lookup.jsonl", lookup)
    writer.add_json("orders.json", folder_orders(site, sorted(folders)))
    objects = 0
    for done, brain in enumerate(catalog.searchResults(UID=live) if live else (), 1):
        try:
            obj = brain.getObject()
        except (KeyError, AttributeError):
            continue  # a stale catalog entry: a pull would find it gone too
        data = served(obj, request)
        writer.add_json(f"objects/{brain.UID}.json", data)
        for name, sha256 in data.get(wire.BLOB_SHA256, {}).items():
            value = getattr(aq_base(obj), name, None)
            if INamedFile.providedBy(value):
                with value.open() as source:
                    writer.add_blob(sha256, source)
        objects += 1
        if progress is not None:
            progress(done, len(live))
        if done % CACHE_EVERY == 0:
            site._p_jar.cacheGC()  # the objects written go back to ghosts: memory stays per batch
    manifest = {
        "format": wire.BUNDLE_FORMAT,
        "id": uuid.uuid4().hex,
        "previous": previous,
        "origin": site.UID(),
        "site_url": site.absolute_url(),
        "log": log.id,
        "since": since,
        "head": head,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "objects": objects,
    }
    writer.add_json(wire.BUNDLE_MANIFEST, manifest)
    writer.close()
    return manifest
