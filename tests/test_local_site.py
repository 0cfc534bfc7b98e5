"""LocalSite.by_uid asks the UID index alone: it must still see what a catalog search sees."""

import unittest

from plone import api
from plone.app.testing import TEST_USER_ID
from plone.app.testing import setRoles

from senaite_style_sync.sync.local import LocalSite
from senaite_style_sync.testing import SYNC_INTEGRATION_TESTING


class TestByUid(unittest.TestCase):
    layer = SYNC_INTEGRATION_TESTING

    def setUp(self):
        self.portal = self.layer["portal"]
        setRoles(self.portal, TEST_USER_ID, ["Manager"])
        self.local = LocalSite(self.portal)

    def test_found_while_still_in_plones_indexing_queue_then_moved_then_gone(self):
        folder = api.content.create(self.portal, "Folder", id="a")
        doc = api.content.create(folder, "Document", id="doc")
        uid = doc.UID()
        self.assertEqual(self.local.by_uid(uid).getPhysicalPath(), ("", "plone", "a", "doc"))
        other = api.content.create(self.portal, "Folder", id="b")
        api.content.move(doc, other)
        self.assertEqual(self.local.by_uid(uid).getPhysicalPath(), ("", "plone", "b", "doc"))
        api.content.delete(other["doc"], check_linkintegrity=False)
        self.assertIsNone(self.local.by_uid(uid))

    def test_private_objects_are_found_and_unknown_uids_are_not(self):
        doc = api.content.create(self.portal, "Document", id="private-doc")
        setRoles(self.portal, TEST_USER_ID, ["Member"])
        self.assertIs(self.local.by_uid(doc.UID()).aq_base, doc.aq_base)
        self.assertIsNone(self.local.by_uid("0" * 32))
        self.assertIsNone(self.local.by_uid(""))
