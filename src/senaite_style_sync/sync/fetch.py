"""Fetch: list the peer into the remote's index of objects in scope, then plan without writing content."""

import time
from datetime import UTC
from datetime import datetime

import transaction
from BTrees.OOBTree import OOBTree
from BTrees.OOBTree import OOTreeSet

from senaite_style_sync.model.jobs import Job
from senaite_style_sync.peer.readers import PeerReader
from senaite_style_sync.sync.local import LocalSite
from senaite_style_sync.sync.plan import plan_for
from senaite_style_sync.sync.scope import TypeRules
from senaite_style_sync.sync.scope import build_index


HEARTBEAT_EVERY = 30  # seconds between commits of a long listing's progress
NOT_LISTED = "Not in the peer's listing, but the peer still has it: kept."


def default_pages_of(reader: PeerReader, index, paths) -> OOBTree:
    """Folder UID -> the UID of its default page, for the folders and pages in the index."""
    default_pages = OOBTree()
    for page_uid in reader.default_page_uids():
        entry = index.get(page_uid)
        folder_uid = paths.get(entry.path.rpartition("/")[0]) if entry else None
        if folder_uid:
            default_pages[folder_uid] = page_uid
    return default_pages


def fetch(remote, job: Job, reader: PeerReader, local: LocalSite) -> None:
    state = remote.state
    state.listed_at = datetime.now(UTC).isoformat(timespec="seconds")
    # Where the peer's change log stands before the listing: changes after it are read from
    # the feed next time, whether this listing saw them or not (sync/feed.py).
    head = reader.changes_head()

    def listed(count: int) -> None:
        job.done = count
        if time.time() - job.heartbeat > HEARTBEAT_EVERY:
            # The new index is not attached yet, so this commits only the job's progress.
            job.heartbeat = time.time()
            transaction.commit()

    items = reader.listing(on_page=listed)
    for left_out in reader.left_out:
        (job.add_error if left_out.malformed else job.add_warning)(left_out.entry, "fetch", left_out.why)
    rules = TypeRules(remote)
    index, paths = build_index(items, rules)
    # A copy is deleted only once the peer confirms its UID is gone: one the listing left
    # out but the peer still has is listed after all; one the peer lists outside the scope
    # is let go, not deleted; one the peer names only in entries that cannot be read is held.
    listed_uids = {item.uid for item in items}
    held = {left_out.uid for left_out in reader.left_out if left_out.uid and left_out.uid not in listed_uids}
    found = reader.existing(uid for uid in state.synced.keys() if uid not in listed_uids and uid not in held)
    held |= reader.unreadable
    if set(held) != set(state.held):
        state.held = OOTreeSet(held)
    if found:
        for item in found:
            job.add_warning(item.path, "fetch", NOT_LISTED)
        index, paths = build_index(items + found, rules)
        listed_uids.update(item.uid for item in found)
    outside = OOTreeSet(uid for uid in state.synced.keys() if uid in listed_uids and uid not in index)
    if list(outside) != list(state.outside):
        state.outside = outside
    default_pages = default_pages_of(reader, index, paths)
    changed_pages = {
        folder
        for folder in set(default_pages.keys()) | set(state.default_pages.keys())
        if default_pages.get(folder) != state.default_pages.get(folder)
    }
    if changed_pages:
        state.pending_default_pages = OOTreeSet(set(state.pending_default_pages) | changed_pages)
    # Replace only what changed: an unchanged peer writes nothing here.
    if list(index.items()) != list(state.index.items()) or changed_pages:
        state.replace_index(index, paths, default_pages)
    feed_read = (head.log, head.head) if head is not None else ("", -1)
    if state.feed_read != feed_read:
        state.feed_read = feed_read
    if state.feed_rules != rules.digest():
        state.feed_rules = rules.digest()
    job.total = job.done = len(index)
    counts = plan_for(remote, local, job.since).counts()
    job.plan.update(counts)
    if remote.last_plan != counts:
        remote.last_plan = counts
