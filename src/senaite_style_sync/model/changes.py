"""The change log of a site with this add-on: what its change feed (``@sync-changes``) serves.

Every committed change of a content object gets the next number after ``head``: its entry
holds the object's state after the transaction that changed it (path, type, dates, review
state, the digest of what re-dates nothing, its revision and its files' sha256) or, for an
object deleted, its tombstone (UID, path, type, who could see it). server/changes/ writes
it, once per transaction, just before the transaction commits.

Where entries live:

``tail``     the newest entries (a ChangeTail), and ``head``. Every transaction that logs a
             change writes it.
``entries``  number -> Change, the older ones: a transaction that finds the tail long moves
             what committed before it there. Entries more than RECENT numbers old are
             compacted to the newest per UID (what a superseded one said, its kinds, goes
             into the newest), a few at a time up to ``compacted``; an entry there that a
             later one supersedes goes at once.
``latest``   UID -> the number of its newest entry in ``entries``.
``floor``    the log is complete after it: beyond ``most`` entries the oldest are dropped and
             the floor rises to the last number dropped. A consumer whose checkpoint is below
             it is told to list the site again.
``blobs``    sha256 of a file held here -> (path, UID, field) of one object that holds it, for
             the sync to copy a file it has instead of downloading it again (a hint: whoever
             uses it checks the bytes).

Why no reader ever sees a gap that fills later (SymmetricDS's "data gaps"), without making
concurrent transactions wait for each other: a transaction numbers its entries after the
``head`` it read, and when another transaction committed entries to the tail meanwhile, the
tail's conflict resolution (``ChangeTail._p_resolveConflict``) renumbers the late
transaction's entries after the committed ones. The storage resolves conflicts while it
holds its commit lock (FileStorage, ZEO's server, RelStorage), so numbers are final in
commit order: a reader's snapshot (one ZODB transaction) that shows ``head`` = N shows every
entry up to N that was not compacted away, and no transaction can later commit a number at
or below N. A consumer that applied everything up to N never looks below N again, and
nothing is served twice. Where resolution is not possible (two transactions both moved the
tail's entries, or a ZEO server without this add-on's code), the later transaction gets a
ConflictError and is retried, as Zope retries any conflict.
"""

import uuid
from itertools import islice
from typing import NamedTuple

from BTrees.LOBTree import LOBTree
from BTrees.OLBTree import OLBTree
from BTrees.OOBTree import OOBTree
from persistent import Persistent
from ZODB.POSException import ConflictError
from zope.annotation.interfaces import IAnnotations

from senaite_style_sync.config import product_config


ANNOTATION_KEY = "senaite_style_sync.changes"
# Entries younger than this many numbers are kept as they are; older ones compact.
RECENT = 10_000
# Entries a transaction compacts, at most, besides those it adds.
COMPACT_BUDGET = 100
# The tail's length from which a transaction moves it to ``entries``.
SETTLE_AT = 64
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


class ChangeTail(Persistent):
    """The newest entries of a change log and its ``head``; numbered in commit order (see the
    module's docstring). ``floor``: raised by a restart."""

    def __init__(self) -> None:
        self.head = 0
        self.floor = 0
        self.entries: tuple[tuple[int, Change], ...] = ()

    def _p_resolveConflict(self, old: dict, committed: dict, new: dict) -> dict:
        """``new`` (this transaction's state) after ``committed`` (another's, committed since
        ``old`` was read): its own entries renumbered after the committed ones, the entries it
        moved to the log dropped. Two transactions that both moved entries conflict, and so do
        two that logged the same object: each described it from its own snapshot, and the
        later number must hold its state after both (the retry describes it again)."""
        old_head = old["head"]
        before = {seq for seq, _change in old["entries"]}
        moved_here = before - {seq for seq, _change in new["entries"] if seq <= old_head}
        moved_there = before - {seq for seq, _change in committed["entries"] if seq <= old_head}
        if moved_here and moved_there:
            raise ConflictError("Two transactions moved the change log's newest entries.")
        added = [(seq, change) for seq, change in new["entries"] if seq > old_head]
        theirs = {change.uid for seq, change in committed["entries"] if seq > old_head}
        if any(change.uid in theirs for _seq, change in added):
            raise ConflictError("Two transactions logged a change of the same object.")
        offset = committed["head"] - old_head
        added = tuple((seq + offset, change) for seq, change in added)
        resolved = dict(committed)
        resolved["entries"] = tuple(item for item in committed["entries"] if item[0] not in moved_here) + added
        resolved["head"] = new["head"] + offset
        if new["floor"] > old["floor"]:  # restarted here
            resolved["floor"] = max(committed["floor"], new["floor"] + offset)
        return resolved


class ChangeLog(Persistent):
    """A site's change log (see the module's docstring)."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.trimmed = 0  # the last number trim() dropped
        self.compacted = 0  # entries up to here hold only the newest of each UID
        self.size = 0  # in ``entries``
        self.entries = LOBTree()
        self.latest = OLBTree()
        self.blobs = OOBTree()
        self.tail = ChangeTail()

    @property
    def head(self) -> int:
        return self.tail.head

    @property
    def floor(self) -> int:
        return max(self.trimmed, self.tail.floor)

    def newest_seq(self, uid: str) -> int | None:
        for seq, change in reversed(self.tail.entries):
            if change.uid == uid:
                return seq
        return self.latest.get(uid)

    def newest(self, uid: str) -> Change | None:
        for _seq, change in reversed(self.tail.entries):
            if change.uid == uid:
                return change
        seq = self.latest.get(uid)
        return self.entries.get(seq) if seq is not None else None

    def extend(self, changes: list[Change]) -> None:
        """Log ``changes`` with the next numbers (final once committed: see the module's
        docstring). When the tail is long, what committed to it before goes to ``entries``
        first, in the same transaction."""
        tail = self.tail
        if len(tail.entries) >= SETTLE_AT and not tail._p_changed:  # nothing of this transaction's in it
            self.settle()
        numbered = tuple((tail.head + number, change) for number, change in enumerate(changes, 1))
        tail.entries += numbered
        tail.head += len(numbered)

    def settle(self) -> None:
        """Move the tail's entries to ``entries``, compacting and trimming there."""
        tail = self.tail
        for seq, change in tail.entries:
            previous = self.latest.get(change.uid)
            if previous is not None and previous <= self.compacted:
                superseded = self.entries.pop(previous, None)
                if superseded is not None:
                    self.size -= 1
                    kinds = set(change.kinds) | set(superseded.kinds)
                    change = change._replace(kinds=tuple(kind for kind in KINDS if kind in kinds))
            self.entries[seq] = change
            self.latest[change.uid] = seq
            self.size += 1
        moved = len(tail.entries)
        tail.entries = ()
        self.compact(COMPACT_BUDGET + moved)
        self.trim(most_entries())

    def page(self, since: int, limit: int) -> list[tuple[int, Change]]:
        """Up to ``limit`` entries after ``since``, in order."""
        found = list(islice(self.entries.items(min=since + 1), limit))
        if len(found) < limit:
            found += [item for item in self.tail.entries if item[0] > since][: limit - len(found)]
        return found

    def has_after(self, seq: int) -> bool:
        if self.tail.entries:
            return self.tail.entries[-1][0] > seq
        return bool(self.entries) and self.entries.maxKey() > seq

    def compact(self, budget: int = COMPACT_BUDGET, recent: int | None = None) -> None:
        """Drop up to ``budget`` superseded entries of ``entries`` older than ``recent`` numbers
        (RECENT); their kinds go into the newest entry of their UID (a reorder must not be forgotten)."""
        horizon = self.head - (RECENT if recent is None else recent)
        if horizon <= self.compacted:
            return
        examined = list(islice(self.entries.keys(min=self.compacted + 1, max=horizon), budget))
        for seq in examined:
            change = self.entries[seq]
            newest = self.latest.get(change.uid)
            if newest is None or newest == seq:  # (none: never so; kept rather than lost)
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
            self.trimmed = max(self.trimmed, seq)
            self.compacted = max(self.compacted, seq)

    def restart(self) -> None:
        """Make every consumer list the site again (the log missed a change it could not describe)."""
        self.tail.head += 1
        self.tail.floor = self.tail.head


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
