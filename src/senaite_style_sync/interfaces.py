"""Marker interfaces and the extension points: field writers, importers."""

from zope.interface import Attribute
from zope.interface import Interface
from zope.interface.interfaces import IObjectEvent
from zope.publisher.interfaces.browser import IDefaultBrowserLayer


class ISenaiteStyleSyncLayer(IDefaultBrowserLayer):
    """Browser layer: the add-on's views and services exist only where it is installed."""


class IFieldWriter(Interface):
    """Writes one schema field of a copy from the peer's JSON value.

    Looked up as a multi-adapter of (field, object, request), the way plone.restapi finds
    its field deserializers: register one for a field interface to change how values of
    that kind of field are written, without touching the pipeline.
    """

    def __call__(value, io):
        """Write ``value`` (the peer's JSON for this field).

        ``io`` (sync.fields.WriteIO) gives what a writer may need besides the value: the
        link converter for rich text, the downloaded blob files, and ``relations``, where
        relation writers leave their targets' peer URLs for the second pass.
        """


class IImporter(Interface):
    """An option beyond content (registry records, settings, users), run after the content
    (or before it, with ``before_content``).

    Registered as a named utility; a run calls, in ``order``, every importer the remote
    enables. Adding one is a registration, not an edit of the steps.
    """

    order = Attribute("Sort key among importers (lower runs first).")
    before_content = Attribute(
        "Optional, false when missing: run before the content, as what the content refers to (users and groups)."
    )

    def enabled(remote):
        """Whether ``remote``'s settings ask for this import."""

    def __call__(site, remote, job, http):
        """Import; record per-item failures on ``job`` and never commit (the caller does)."""


class IServeStored(Interface):
    """Marks a request, while the sync serves an object, whose rich text is served as stored,
    not rendered (sync/served.py): the rendering would be thrown away."""


class IReadOnlyCopy(Interface):
    """Marks a locked read-only copy (sync/readonly.py): only the sync changes, moves or deletes it."""


class ISyncIndexedEvent(IObjectEvent):
    """The sync catalogued an object it wrote without the usual events (sync/local.py).

    The change log (server/changes/) records it as any other change: a site that syncs from
    a peer serves what it wrote to the sites that sync from it.
    """

    indexes = Attribute("The indexes updated; empty for all of them.")
    created = Attribute("Whether the sync created the object in this transaction.")
