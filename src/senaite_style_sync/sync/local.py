"""The local side: find synced objects by UID, tell local edits from the sync's own writes."""

from Acquisition import aq_base
from Products.CMFCore.indexing import processQueue
from Products.CMFCore.utils import getToolByName
from Products.ZCatalog.query import IndexQuery
from zope.event import notify
from zope.interface import implementer
from zope.interface.interfaces import ObjectEvent

from senaite_style_sync.interfaces import ISyncIndexedEvent
from senaite_style_sync.model.state import SyncedEntry
from senaite_style_sync.sync.fingerprint import fingerprint


@implementer(ISyncIndexedEvent)
class SyncIndexed(ObjectEvent):
    def __init__(self, obj, indexes: list[str], created: bool = False) -> None:
        super().__init__(obj)
        self.indexes = indexes
        self.created = created


def resolve_path(site, path: str):
    """The object at ``path`` below the site, by containment only (never acquired); None if none."""
    obj = site
    for segment in path.split("/") if path else ():
        if getattr(aq_base(obj), "_getOb", None) is None:
            return None
        obj = obj._getOb(segment, None)
        if obj is None:
            return None
    return obj


def iso(date) -> str:
    return date.ISO8601() if date is not None else ""


def stamp(obj) -> str:
    """The object's modification date to the microsecond: what tells a local edit from the sync's write."""
    return str(obj.modified().micros())


class LocalSite:
    """Lookups on the destination site, unrestricted (the sync job acts for the site)."""

    def __init__(self, site) -> None:
        self.site = site
        self.catalog = getToolByName(site, "portal_catalog")
        self.uids = self.catalog.Indexes["UID"]

    def by_uid(self, uid: str):
        """The object with ``uid`` in this site, whoever may see it; None when there is none.

        Asked of the UID index alone: a catalog search costs a query plan and result set, and the
        writer asks several times per object.
        """
        processQueue()  # what Plone has still to index counts, as for a search
        for rid in self.uids.query_index(IndexQuery({"UID": uid}, "UID")) or ():
            return self.site.unrestrictedTraverse(self.catalog.getpath(rid), None)
        return None

    def find(self, remote_uid: str, synced: SyncedEntry | None, portal_type: str | None = None):
        """The local copy of ``remote_uid``: by the recorded mapping, else by the same UID and type."""
        if synced is not None:
            return self.by_uid(synced.local_uid)
        obj = self.by_uid(remote_uid)
        if obj is not None and portal_type is not None and obj.portal_type != portal_type:
            return None  # the UID is taken here by something else: a new copy gets its own UID
        return obj

    def changed_since_sync(self, obj, synced: SyncedEntry) -> bool:
        """Edited here after the sync last wrote it.

        An unchanged modification date says no at once. A moved one is only a first filter:
        moving a parent, reindexing or link integrity re-date objects nobody edited, so the
        fingerprint recorded at the sync's write decides.
        """
        if stamp(obj) == synced.local_modified:
            return False
        return not synced.local_fingerprint or fingerprint(obj) != synced.local_fingerprint

    def index(self, obj, idxs: list[str] | None = None, created: bool = False) -> None:
        """Catalog ``obj`` now (the tool's reindexObject would bump the modification date), and
        tell the change log (the sync writes without the events it would hear otherwise)."""
        self.catalog.catalog_object(obj, idxs=idxs or [], update_metadata=not idxs)
        notify(SyncIndexed(obj, list(idxs or []), created))

    @staticmethod
    def revised(obj) -> None:
        """Tell the change log the sync gave ``obj`` a new revision, and nothing to catalog (a
        merge of both sides' versions: the sites that read this one's feed must learn it)."""
        notify(SyncIndexed(obj, [], False))
