"""Subscribers that keep read-only copies read-only (sync/readonly.py).

* A move, rename or removal of a locked copy, also as part of its folder's, is refused
  unless the sync does it (``is_sync_write``), or the whole site is being deleted.
* A workflow transition re-applies the lock at once (the transition's role mappings give
  "Modify portal content" back).
* Before a request commits, every locked copy it changed whose lock is broken (the ZMI
  Security tab, ``manage_permission``, Update security settings) is locked again.
* A copy of a locked copy (copy and paste) is ordinary content.
"""

import transaction
from AccessControl import Unauthorized
from Products.CMFCore.interfaces import ISiteRoot

from senaite_style_sync.interfaces import IReadOnlyCopy
from senaite_style_sync.sync.readonly import is_locked
from senaite_style_sync.sync.readonly import is_sync_write
from senaite_style_sync.sync.readonly import lock
from senaite_style_sync.sync.readonly import release


REFUSED = "{} is a read-only copy of a synced remote: only the sync moves or deletes it."


def refuse_move(obj, event) -> None:
    """IObjectWillBeMovedEvent (removals included) of a locked copy or of a folder holding one."""
    if event.oldParent is None or is_sync_write() or ISiteRoot.providedBy(event.object):
        return  # being added (a copy being pasted), the sync's own move, or the whole site goes
    raise Unauthorized(REFUSED.format("/".join(obj.getPhysicalPath())))


def relock(obj, event) -> None:
    """IActionSucceededEvent on a locked copy."""
    lock(obj)


def ordinary_copy(obj, event) -> None:
    """IObjectCopiedEvent: ``obj`` is the new copy, not in its folder yet (its workflow sets its
    permissions when it is added); only the sync makes read-only copies."""
    release(obj)


def relock_changed(event) -> None:
    """IPubBeforeCommit: lock again each locked copy this request changed and left unlocked."""
    for resource in transaction.get()._resources:  # the ZODB connections that take part
        for obj in list(getattr(resource, "_registered_objects", ())):
            if IReadOnlyCopy.providedBy(obj) and not is_locked(obj):
                lock(obj)
