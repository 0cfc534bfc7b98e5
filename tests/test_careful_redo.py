"""A chunk redone object by object: one object's failure rolls back that object only."""

import transaction
from plone import api
from zope.component import adapter
from zope.component import getGlobalSiteManager
from zope.interface import Interface
from zope.interface import implementer
from zope.schema.interfaces import IText

from senaite_style_sync.interfaces import IFieldWriter
from senaite_style_sync.sync.fields import FieldWriter
from senaite_style_sync.sync.fields import set_field
from tests.sync_helpers import SyncTestCase


FAIL = "this description fails to write"


@implementer(IFieldWriter)
@adapter(IText, Interface, Interface)
class FailingWriter(FieldWriter):
    """Plain text as usual, except one value, whose write fails."""

    def __call__(self, value, io):
        if value == FAIL:
            raise ValueError("refused by the test")
        set_field(self.context, self.field, value)


class TestCarefulRedo(SyncTestCase):
    def setUp(self):
        super().setUp()
        getGlobalSiteManager().registerAdapter(FailingWriter)

    def tearDown(self):
        getGlobalSiteManager().unregisterAdapter(FailingWriter)

    def test_a_failed_move_and_write_leaves_the_chunks_new_folder_findable_for_its_children(self):
        self.on_source()
        with api.env.adopt_roles(["Manager"]):
            old = api.content.create(self.source, "Folder", id="old")
            moving = api.content.create(old, "Document", id="moving", title="Moving")
        transaction.commit()
        self.make_remote()
        self.run_step("fetch")
        self.assertEqual(list(self.run_step("import").errors), [])
        # On the peer: a new folder with a child, and a copy moved beside the folder whose new
        # version fails to write. Written parents first, the three share one chunk: folder,
        # moved copy (moved here, then rolled back), the folder's child.
        self.on_source()
        with api.env.adopt_roles(["Manager"]):
            folder = api.content.create(self.source, "Folder", id="new-folder")
            api.content.create(folder, "Document", id="child", title="Child")
            moved = api.content.move(moving, self.source)
            moved.description = FAIL
            moved.reindexObject()
        transaction.commit()
        job = self.run_step("update")
        transaction.begin()
        errors = {error["object"]: error["message"] for error in job.errors}
        self.assertEqual(list(errors), ["moving"], errors)
        self.assertIn("refused by the test", errors["moving"])
        self.assertEqual(self.portal["new-folder"]["child"].title, "Child")
        self.assertIn("moving", self.portal["old"].objectIds())  # the failed move is rolled back
        self.assertNotIn("moving", self.portal.objectIds())
        catalogued = {brain.getPath() for brain in self.portal.portal_catalog.unrestrictedSearchResults(path="/plone")}
        self.assertIn("/plone/new-folder/child", catalogued)
        self.assertNotIn("/plone/moving", catalogued)  # no entry for what was rolled back
