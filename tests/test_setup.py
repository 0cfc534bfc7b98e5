"""Install and uninstall through GenericSetup."""

import unittest

from plone import api
from plone.app.testing import TEST_USER_ID
from plone.app.testing import setRoles
from plone.browserlayer.utils import registered_layers
from zope.annotation.interfaces import IAnnotations

from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.interfaces import ISenaiteStyleSyncLayer
from senaite_style_sync.model.jobs import ANNOTATION_KEY as JOBS_KEY
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.storage import ANNOTATION_KEY
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.testing import SYNC_INTEGRATION_TESTING


MANAGE_REMOTES = "senaite_style_sync: Manage remotes"  # as registered in permissions.zcml
PUSH_BUNDLES = "senaite_style_sync: Push bundles"


class TestInstall(unittest.TestCase):
    layer = SYNC_INTEGRATION_TESTING

    def setUp(self):
        self.portal = self.layer["portal"]
        setRoles(self.portal, TEST_USER_ID, ["Manager"])

    def test_installed(self):
        from Products.CMFPlone.utils import get_installer

        installer = get_installer(self.portal, self.layer["request"])
        self.assertTrue(installer.is_product_installed("senaite_style_sync"))
        self.assertIn(ISenaiteStyleSyncLayer, registered_layers())

    def test_permission_granted_to_manager_and_site_administrator(self):
        roles = {r["name"] for r in self.portal.rolesOfPermission(MANAGE_REMOTES) if r["selected"]}
        self.assertEqual(roles, {"Manager", "Site Administrator"})

    def test_push_permission_also_granted_to_the_sync_sender_role_which_has_nothing_else_of_ours(self):
        roles = {r["name"] for r in self.portal.rolesOfPermission(PUSH_BUNDLES) if r["selected"]}
        self.assertEqual(roles, {"Manager", "Site Administrator", "Sync Sender"})
        self.assertIn("Sync Sender", self.portal.validRoles())
        sender = {p["name"] for p in self.portal.permissionsOfRole("Sync Sender") if p["selected"]}
        self.assertEqual(sender, {PUSH_BUNDLES})

    def test_site_setup_link(self):
        configlet = [
            a for a in api.portal.get_tool("portal_controlpanel").listActions() if a.getId() == "senaite_style_sync"
        ]
        self.assertEqual(len(configlet), 1)
        self.assertTrue(configlet[0].getActionExpression().endswith("/@@sync"))

    def test_uninstall_removes_layer_link_and_remotes(self):
        from Products.CMFPlone.utils import get_installer

        create_remote(self.portal, {"name": "lab1", "url": "https://lab1.example.org/Plone"})
        JobStore(self.portal).add(Job("lab1", "fetch", "test"))
        self.assertIn(ANNOTATION_KEY, IAnnotations(self.portal))
        self.assertIn(JOBS_KEY, IAnnotations(self.portal))
        installer = get_installer(self.portal, self.layer["request"])
        installer.uninstall_product("senaite_style_sync")
        self.assertFalse(installer.is_product_installed("senaite_style_sync"))
        self.assertNotIn(ISenaiteStyleSyncLayer, registered_layers())
        self.assertNotIn(ANNOTATION_KEY, IAnnotations(self.portal))
        self.assertNotIn(JOBS_KEY, IAnnotations(self.portal))
        self.assertIsNone(RemoteStorage(self.portal).get("lab1"))
        ids = [a.getId() for a in api.portal.get_tool("portal_controlpanel").listActions()]
        self.assertNotIn("senaite_style_sync", ids)
