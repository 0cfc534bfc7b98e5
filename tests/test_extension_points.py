"""Extension by registration: a field writer or an importer registered from outside is used."""

import transaction
from plone import api
from zope.component import adapter
from zope.component import getGlobalSiteManager
from zope.interface import Interface
from zope.interface import implementer
from zope.schema.interfaces import ITextLine

from senaite_style_sync.interfaces import IFieldWriter
from senaite_style_sync.interfaces import IImporter
from senaite_style_sync.sync.fields import FieldWriter
from senaite_style_sync.sync.fields import set_field
from tests.sync_helpers import SyncTestCase


@implementer(IFieldWriter)
@adapter(ITextLine, Interface, Interface)
class ShoutingWriter(FieldWriter):
    """Text lines in capitals: more specific than the default writer, so it wins for them."""

    def __call__(self, value, io):
        set_field(self.context, self.field, value.upper() if isinstance(value, str) else value)


@implementer(IImporter)
class CountingImporter:
    order = 5

    def __init__(self):
        self.calls = []

    def enabled(self, remote):
        return remote.name == "src"

    def __call__(self, site, remote, job, http):
        self.calls.append(remote.name)
        job.count("extra", 1)


class TestExtensionPoints(SyncTestCase):
    def setUp(self):
        super().setUp()
        self.registry = getGlobalSiteManager()
        self.importer = CountingImporter()
        self.registry.registerAdapter(ShoutingWriter)
        self.registry.registerUtility(self.importer, IImporter, name="counting")

    def tearDown(self):
        self.registry.unregisterAdapter(ShoutingWriter)
        self.registry.unregisterUtility(self.importer, IImporter, name="counting")

    def test_a_registered_field_writer_and_importer_are_used(self):
        self.on_source()
        with api.env.adopt_roles(["Manager"]):
            api.content.create(self.source, "Document", id="page", title="Quiet title")
        transaction.commit()
        self.make_remote()
        self.run_step("fetch")
        job = self.run_step("import")
        self.assertEqual(list(job.errors), [])
        transaction.begin()
        self.assertEqual(self.portal["page"].title, "QUIET TITLE")
        self.assertEqual(self.importer.calls, ["src"])
        self.assertEqual(job.counts["extra"], 1)
