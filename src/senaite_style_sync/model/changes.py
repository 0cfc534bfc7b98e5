"""The change log of a site with this add-on: what its change feed (``@sync-changes``) serves.

Every committed change of a content object gets the next number after ``head``: its entry
holds the object's state after the transaction that changed it (path, type, dates, review
state, the digest of what re-dates nothing, its revision and its files' sha256) or, for an
object deleted, its tombstone (UID, path, type, who could see it). server/changes/ writes
it, once per transaction, just before the transaction commits.

``latest``   UID -> the number of its newest entry.
``entries``  number -> Change; entries more than RECENT numbers old are compacted to the
             newest per UID (what a superseded one said, its kinds, goes into the newest), a
             few with each transaction up to ``compacted``; an entry there that a later one
             supersedes goes at once.
``floor``    the log is complete after it: beyond ``most`` entries the oldest are dropped and
             ``floor`` rises to the last number dropped. A consumer whose checkpoint is below
             it is told to list the site again.
``blobs``    sha256 of a file held here -> (path, UID, field) of one object that holds it, for
             the sync to copy a file it has instead of downloading it again (a hint: whoever
             uses it checks the bytes).

Why no reader ever sees a gap that fills later (SymmetricDS's "data gaps"): numbers are
given in a before-commit hook, from ``head``, an attribute of this one persistent object,
which every transaction that logs a change writes. This class has no conflict resolution,
so of two transactions that log changes concurrently, ZODB commits the first and raises a
ConflictError in the second, which is retried (or aborted) and then numbers after the
first. Numbers are therefore given in commit order; an entry is visible only once its
transaction committed, together with ``head``; and a reader's snapshot (one ZODB
transaction) that shows ``head`` = N shows every entry up to N that was not compacted
away. No transaction still in flight can later commit a number at or below N: it would
have to write ``head`` over a version it did not read, which is the conflict. So a
consumer that applied everything up to N never has to look below N again, and nothing it
is served twice: the price is that transactions that change content on this site commit
one after the other (a retried conflict when two end at the same moment).
"""

import uuid
from itertools import islice
from typing import NamedTuple

from BTrees.LOBTree import LOBTree
from BTrees.OLBTree import OLBTree
from BTrees.OOBTree import OOBTree
from persistent import Persistent
from zope.annotation.interfaces import IAnnotations

from senaite_style_sync.config import product_config


ANNOTATION_KEY = "senaite_style_sync.changes"
# Entries younger than this many numbers are kept as they are; older ones compact.
RECENT = 10_000
# Entries a transaction compacts, at most, besides those it adds.
COMPACT_BUDGET = 100
# The most entries kept: product-config ``change-log-size``, else this.
MOST = 200_000
# What changed, in an entry's ``kinds``.
KINDS = ("create", "edit", "move", "delete", "workflow", "order", "sharing", "default_page", "layout")


def most_entries() -> int:
    try:
        return max(int(product_config().get("change-log-size", MOST)), 1)
    except ValueError:
        return MOST


class Change(NamedTuple):
    """One entry: an object's state after the transaction that changed it, or its tombstone."""

    uid: str
    kinds: tuple[str, ...]
    path: str  # below the site root; "" for the site root itself (only its children's order)
    portal_type: str
    deleted: bool = False
    parents: tuple[str, ...] = ()  # the UIDs of the folders it is in, nearest first
    modified: str = ""
    review_state: str = ""
    meta: str = ""  # what @sync-list serves as "meta": local roles, their inheritance, layout, default page
    layout: str = ""
    default_page: str = ""
    sharing: str = ""  # digest of the local roles and their inheritance
    revision: str = ""  # its revision's id (sync/revision.py) and origin
    origin: str = ""
    blobs: tuple[tuple[str, str], ...] = ()  # (field, sha256) of each file or image
    allowed: tuple[str, ...] = ()  # who may see it (allowedRolesAndUsers); of a tombstone: who could

    def state(self) -> tuple:
        """What a new entry must differ in to be worth logging (not the kinds)."""
        return self[2:]


class ChangeLog(Persistent):
    """A site's change log (see the module's docstring). No ``_p_resolveConflict``, on purpose."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.head = 0
        self.floor = 0
        self.compacted = 0  # entries up to here hold only the newest of each UID
        self.size = 0
        self.entries = LOBTree()
        self.latest = OLBTree()
        self.blobs = OOBTree()

    def newest(self, uid: str) -> Change | None:
        seq = self.latest.get(uid)
        return self.entries.get(seq) if seq is not None else None

    def append(self, change: Change) -> int:
        """Log ``change`` with the next number. The entry it supersedes goes at once when it lies
        among the compacted ones (which hold only the newest of each UID); its kinds join it."""
        self.head += 1
        previous = self.latest.get(change.uid)
        if previous is not None and previous <= self.compacted:
            superseded = self.entries.pop(previous, None)
            if superseded is not None:
                self.size -= 1
                kinds = set(change.kinds) | set(superseded.kinds)
                change = change._replace(kinds=tuple(kind for kind in KINDS if kind in kinds))
        self.entries[self.head] = change
        self.latest[change.uid] = self.head
        self.size += 1
        return self.head

    def page(self, since: int, limit: int) -> list[tuple[int, Change]]:
        """Up to ``limit`` entries after ``since``, in order."""
        return list(islice(self.entries.items(min=since + 1), limit))

    def has_after(self, seq: int) -> bool:
        return bool(self.entries) and self.entries.maxKey() > seq

    def compact(self, budget: int = COMPACT_BUDGET, recent: int | None = None) -> None:
        """Drop up to ``budget`` superseded entries older than ``recent`` numbers (RECENT); their
        kinds go into the newest entry of their UID (a reorder must not be forgotten)."""
        horizon = self.head - (RECENT if recent is None else recent)
        if horizon <= self.compacted:
            return
        examined = list(islice(self.entries.keys(min=self.compacted + 1, max=horizon), budget))
        for seq in examined:
            change = self.entries[seq]
            newest = self.latest.get(change.uid)
            if newest == seq:
                continue
            survivor = self.entries.get(newest) if newest is not None else None
            if survivor is not None and not set(change.kinds) <= set(survivor.kinds):
                kinds = tuple(kind for kind in KINDS if kind in set(change.kinds) | set(survivor.kinds))
                self.entries[newest] = survivor._replace(kinds=kinds)
            del self.entries[seq]
            self.size -= 1
        self.compacted = examined[-1] if len(examined) == budget else horizon

    def trim(self, most: int) -> None:
        """Drop the oldest entries beyond ``most``; the log is then complete only after ``floor``."""
        while self.size > most and self.entries:
            seq = self.entries.minKey()
            change = self.entries.pop(seq)
            if self.latest.get(change.uid) == seq:
                del self.latest[change.uid]
            self.size -= 1
            self.floor = max(self.floor, seq)
            self.compacted = max(self.compacted, seq)

    def restart(self) -> None:
        """Make every consumer list the site again (the log missed a change it could not describe)."""
        self.head += 1
        self.floor = self.head


def change_log(site) -> ChangeLog | None:
    """The site's change log; None where the add-on is not installed (nothing is logged there)."""
    annotations = IAnnotations(site, None)
    return annotations.get(ANNOTATION_KEY) if annotations is not None else None


def create_change_log(site) -> ChangeLog:
    annotations = IAnnotations(site)
    log = annotations.get(ANNOTATION_KEY)
    if log is None:
        log = annotations[ANNOTATION_KEY] = ChangeLog()
    return log


def remove_change_log(site) -> None:
    IAnnotations(site).pop(ANNOTATION_KEY, None)
