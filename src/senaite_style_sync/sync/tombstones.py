"""Record a tombstone whenever a content object is deleted here (by anyone, the sync included)."""

from datetime import UTC
from datetime import datetime

from plone import api
from plone.browserlayer.utils import registered_layers
from plone.uuid.interfaces import IUUID
from zope.component.hooks import getSite

from senaite_style_sync.interfaces import ISenaiteStyleSyncLayer
from senaite_style_sync.model.tombstones import Tombstone
from senaite_style_sync.model.tombstones import Tombstones
from senaite_style_sync.sync.revision import stored_revision


def record_tombstone(obj, event) -> None:
    """IObjectRemovedEvent subscriber: the revision deleted, for each object, in sites with the add-on.

    The revision stored on the object is the one any peer can have: revisions are stored when
    served or written. (Nothing is computed: a deletion must not read every file it deletes.)
    """
    if event.oldParent is None or getSite() is None:
        return
    uid = IUUID(obj, None)
    if not uid or ISenaiteStyleSyncLayer not in registered_layers():
        return
    site = api.portal.get()
    revision = stored_revision(obj)
    path = "/".join(obj.getPhysicalPath()[len(site.getPhysicalPath()) :])
    Tombstones(site).add(
        uid,
        Tombstone(
            revision.id if revision else "",
            revision.ancestors if revision else (),
            path,
            obj.portal_type,
            datetime.now(UTC),
        ),
    )
