"""Record a tombstone whenever a content object is deleted here (by anyone, the sync included)."""

from datetime import UTC
from datetime import datetime

from plone import api
from plone.uuid.interfaces import IUUID
from zope.component.hooks import getSite

from senaite_style_sync.model.tombstones import Tombstone
from senaite_style_sync.model.tombstones import Tombstones
from senaite_style_sync.sync.revision import current_revision


def record_tombstone(obj, event) -> None:
    """IObjectRemovedEvent subscriber: the revision deleted, for each synced-able object."""
    if event.oldParent is None or getSite() is None:
        return
    uid = IUUID(obj, None)
    if not uid:
        return
    site = api.portal.get()
    revision = current_revision(obj, site.UID())
    path = "/".join(obj.getPhysicalPath()[len(site.getPhysicalPath()) :])
    Tombstones(site).add(uid, Tombstone(revision.id, revision.ancestors, path, obj.portal_type, datetime.now(UTC)))
