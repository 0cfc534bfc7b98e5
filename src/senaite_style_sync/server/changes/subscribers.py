"""What tells the change log an object changed: content events, the indexing queue, the sync's own writes.

Events name most changes (added, moved, renamed, removed, modified, a workflow transition,
a folder's order). Changes made without events are still reindexed, and every catalog
operation passes the indexing queue, whose processors (IIndexQueueProcessor) hear of it:
an edit followed by ``reindexObject()``, local roles followed by
``reindexObjectSecurity()``, a default page (its page is reindexed), a reordering that
reindexes positions. The sync writes copies without events and catalogs them itself;
sync/local.py says so with an ISyncIndexedEvent. And an object whose own record changed
without any of these (``setLayout``, ``manage_setLocalRoles`` alone) is found among the
objects the transaction is about to store: just before the commit, and before a request
commits even when nothing else changed (IPubBeforeCommit).
"""

import transaction
from Acquisition import aq_base
from Acquisition import aq_chain
from Acquisition import aq_inner
from Acquisition import aq_parent
from plone.app.workflow.interfaces import ILocalrolesModifiedEvent
from plone.dexterity.interfaces import IDexterityContent
from plone.uuid.interfaces import IUUID
from Products.CMFCore.interfaces import IIndexQueueProcessor
from Products.CMFCore.interfaces import ISiteRoot
from Products.CMFCore.utils import getToolByName
from zExceptions import NotFound
from zope.component.hooks import getSite
from zope.container.interfaces import IContainerModifiedEvent
from zope.interface import implementer
from zope.lifecycleevent.interfaces import IObjectAddedEvent
from zope.lifecycleevent.interfaces import IObjectRemovedEvent

from senaite_style_sync.server.changes.buffer import current_buffer
from senaite_style_sync.server.changes.record import record


SECURITY_INDEXES = frozenset({"allowedRolesAndUsers"})
POSITION_INDEXES = frozenset({"getObjPositionInParent"})
DEFAULT_PAGE_INDEXES = frozenset({"is_default_page"})


def site_of(obj):
    for item in aq_chain(aq_inner(obj)):
        if ISiteRoot.providedBy(item):
            return item
    return None


def touch(obj, *hints: str) -> None:
    """Note that ``obj`` changed in this transaction (with hints of how)."""
    if obj is None or not IDexterityContent.providedBy(obj):
        return
    site = site_of(obj)
    uid = IUUID(obj, None)
    if site is None or not uid:
        return
    if aq_base(obj) is aq_base(site):
        hints = tuple(hint for hint in hints if hint == "order")
        if not hints:
            return
    buffer().touch(site, uid, obj, set(hints))


def buffer():
    return current_buffer(record, discover)


def registered_content() -> list:
    """The content objects whose own record the transaction is about to store."""
    found = []
    for resource in transaction.get()._resources:  # the ZODB connections that take part
        for obj in list(getattr(resource, "_registered_objects", ())):
            if IDexterityContent.providedBy(obj):
                found.append(obj)
    return found


def discover(changes) -> None:
    """Note the content objects changed without an event or a reindex (found in their sites'
    catalogs: the stored objects have no acquisition context)."""
    noted = changes.recorded | {uid for _site, objects in changes.sites.values() for uid in objects}
    sites = {site.getPhysicalPath(): site for site, _objects in changes.sites.values()}
    current = getSite()
    if current is not None and ISiteRoot.providedBy(current):
        sites.setdefault(current.getPhysicalPath(), current)
    for obj in registered_content():
        uid = IUUID(obj, None)
        if uid and uid not in noted:
            noted.add(uid)
            wrapped = wrapper(sites.values(), uid, obj)
            if wrapped is not None:
                touch(wrapped, "edit")


def wrapper(sites, uid: str, obj):
    """``obj`` in its site, by the UID in the site's catalog; None if no catalog has it there."""
    for site in sites:
        for brain in getToolByName(site, "portal_catalog").unrestrictedSearchResults(UID=uid):
            try:
                found = brain._unrestrictedGetObject()
            except (KeyError, AttributeError, LookupError, NotFound):
                continue
            if aq_base(found) is obj:
                return found
    return None


def before_publisher_commit(event) -> None:
    """IPubBeforeCommit: a request that changed content, even without a word, is logged."""
    if registered_content():
        buffer().hook()


def touch_parent(obj, *hints: str) -> None:
    touch(aq_parent(aq_inner(obj)), *hints)


def moved(obj, event) -> None:
    """IObjectMovedEvent (added, moved, renamed, removed), also for each object inside the one moved."""
    if IObjectRemovedEvent.providedBy(event):
        touch(obj, "delete")
    elif IObjectAddedEvent.providedBy(event):
        touch(obj, "create")
    else:
        touch(obj, "move")
    if aq_base(event.object) is aq_base(obj):  # its folders' contents changed
        for parent in (event.oldParent, event.newParent):
            touch(parent, "order")


def modified(obj, event) -> None:
    if IContainerModifiedEvent.providedBy(event):
        touch(obj, "order")
    elif ILocalrolesModifiedEvent.providedBy(event):
        touch(obj, "sharing")
    else:
        touch(obj, "edit")


def transitioned(obj, event) -> None:
    touch(obj, "workflow")


def sync_indexed(obj, event) -> None:
    indexes = set(event.indexes)
    if event.created:
        touch(obj, "create", "sync")
        touch_parent(obj, "order")
    elif indexes and indexes <= POSITION_INDEXES:
        touch_parent(obj, "order")
    else:
        touch(obj, "edit", "sync")


@implementer(IIndexQueueProcessor)
class ChangeLogIndexing:
    """An indexing queue processor that indexes nothing: it notes what the catalog is told."""

    def index(self, obj, attributes=None) -> None:
        touch(obj, "edit")

    def reindex(self, obj, attributes=None, update_metadata=1) -> None:
        names = set(attributes or ())
        if not names:
            touch(obj, "edit")
            return
        if names & POSITION_INDEXES:
            touch_parent(obj, "order")
        if names & DEFAULT_PAGE_INDEXES:
            touch_parent(obj, "default_page")
        rest = names - POSITION_INDEXES - DEFAULT_PAGE_INDEXES
        if rest:
            touch(obj, "sharing" if rest <= SECURITY_INDEXES else "edit")

    def unindex(self, obj) -> None:
        pass  # removals come with their events; a move is indexed again where it went

    def begin(self) -> None:
        pass

    def commit(self) -> None:
        pass

    def abort(self) -> None:
        pass
