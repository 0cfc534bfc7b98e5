"""The objects a transaction changed, per site, until it commits: the change log's buffer.

Event subscribers and the indexing queue (subscribers.py) note each object changed with
hints of what happened; just before the transaction commits, a before-commit hook hands
them to ``record`` (record.py), which numbers the changes. The buffer joins the
transaction as a data manager with savepoints, so what a rolled-back savepoint or an
aborted transaction changed is never logged.
"""

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import transaction
from Products.CMFCore.indexing import processQueue
from transaction.interfaces import ISavepointDataManager
from zope.interface import implementer


# How many acquisition wrappers (places it was seen at) are kept per object.
WRAPPERS_KEPT = 3


@dataclass
class Touched:
    """One object the transaction changed: where it was seen (acquisition-wrapped, latest last)
    and hints of what happened to it."""

    wrappers: list[Any] = field(default_factory=list)
    hints: set[str] = field(default_factory=set)

    def copy(self) -> "Touched":
        return Touched(list(self.wrappers), set(self.hints))


Sites = dict[tuple[str, ...], tuple[Any, dict[str, Touched]]]


def copied(sites: Sites) -> Sites:
    return {
        key: (site, {uid: touched.copy() for uid, touched in objects.items()}) for key, (site, objects) in sites.items()
    }


class BufferSavepoint:
    def __init__(self, buffer: "ChangeBuffer") -> None:
        self.buffer = buffer
        self.sites = copied(buffer.sites)

    def rollback(self) -> None:
        self.buffer.sites = copied(self.sites)


@implementer(ISavepointDataManager)
class ChangeBuffer:
    """The changes of one transaction (see the module's docstring)."""

    def __init__(self, txn, record: Callable[[Any, dict[str, Touched]], None], discover: Callable) -> None:
        self.transaction = txn
        self.transaction_manager = transaction.manager
        self.record = record
        self.discover = discover
        self.sites: Sites = {}
        self.recorded: set[str] = set()  # UIDs logged by this transaction already
        self.hooked = False
        txn.join(self)

    def touch(self, site, uid: str, obj, hints: set[str]) -> None:
        key = site.getPhysicalPath()
        if key not in self.sites:
            self.sites[key] = (site, {})
        touched = self.sites[key][1].setdefault(uid, Touched())
        if not touched.wrappers or touched.wrappers[-1] is not obj:
            touched.wrappers.append(obj)
            del touched.wrappers[:-WRAPPERS_KEPT]
        touched.hints |= hints
        self.hook()

    def hook(self) -> None:
        if not self.hooked:
            # Also when another before-commit hook changes content after this one ran.
            self.transaction.addBeforeCommitHook(self.flush)
            self.hooked = True

    def flush(self) -> None:
        """Before the commit: what the indexing queue still holds, content changed without a
        word (``discover``), then every site's changes."""
        self.hooked = True  # what these find is part of this flush
        try:
            processQueue()
            self.discover(self)
        finally:
            self.hooked = False
        sites, self.sites = self.sites, {}
        for site, objects in sites.values():
            self.recorded.update(objects)
            self.record(site, objects)

    def savepoint(self) -> BufferSavepoint:
        return BufferSavepoint(self)

    def abort(self, txn) -> None:
        self.sites = {}

    def tpc_begin(self, txn) -> None:
        pass

    def commit(self, txn) -> None:
        pass

    def tpc_vote(self, txn) -> None:
        pass

    def tpc_finish(self, txn) -> None:
        self.sites = {}

    def tpc_abort(self, txn) -> None:
        self.sites = {}

    def sortKey(self) -> str:
        return "senaite_style_sync.changes"


_KEY = object()  # the buffer's key in the transaction's data


def current_buffer(record: Callable[[Any, dict[str, Touched]], None], discover: Callable) -> ChangeBuffer:
    """The buffer of the current transaction (made and joined on first use)."""
    txn = transaction.get()
    try:
        return txn.data(_KEY)
    except KeyError:
        buffer = ChangeBuffer(txn, record, discover)
        txn.set_data(_KEY, buffer)
        return buffer
