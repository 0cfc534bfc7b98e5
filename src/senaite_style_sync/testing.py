"""Test layers: Plone sites ``plone`` and ``source``, both with the add-on; ``plone`` syncs from ``source``.

SYNC_INTEGRATION_TESTING    in-process, rolled back after each test.
SYNC_FUNCTIONAL_TESTING     both sites served over real HTTP by a WSGI server thread
                            at ``http://<layer["host"]>:<layer["port"]>``.
"""

import logging
import os
import sys

import transaction
from cryptography.fernet import Fernet
from plone.app.contenttypes.testing import PLONE_APP_CONTENTTYPES_FIXTURE
from plone.app.testing import TEST_USER_ID
from plone.app.testing import FunctionalTesting
from plone.app.testing import IntegrationTesting
from plone.app.testing import PloneSandboxLayer
from plone.app.testing import applyProfile
from plone.app.testing import setRoles
from plone.testing import Layer
from plone.testing.zope import WSGI_SERVER_FIXTURE
from Products.CMFPlone.factory import addPloneSite
from zope.component.hooks import setSite

from senaite_style_sync.model.credentials import ENV_KEY


SOURCE_SITE_ID = "source"
EDITOR_NAME = "editor"
EDITOR_PASSWORD = "editor-password-1"
SITE_ADMIN_NAME = "siteadmin"
SITE_ADMIN_PASSWORD = "siteadmin-password-1"


class SyncLayer(PloneSandboxLayer):
    defaultBases = (PLONE_APP_CONTENTTYPES_FIXTURE,)

    def setUpZope(self, app, configurationContext) -> None:
        # Tests never touch a key file: each test run encrypts with a fresh key.
        self._previous_key = os.environ.get(ENV_KEY)
        os.environ[ENV_KEY] = Fernet.generate_key().decode()
        import plone.restapi

        import senaite_style_sync

        self.loadZCML(package=plone.restapi)
        self.loadZCML(package=senaite_style_sync)

    def tearDownZope(self, app) -> None:
        if self._previous_key is None:
            os.environ.pop(ENV_KEY, None)
        else:
            os.environ[ENV_KEY] = self._previous_key

    def setUpPloneSite(self, portal) -> None:
        applyProfile(portal, "senaite_style_sync:default")
        acl_users = portal.acl_users
        acl_users.userFolderAddUser(EDITOR_NAME, EDITOR_PASSWORD, ["Editor"], [])
        acl_users.userFolderAddUser(SITE_ADMIN_NAME, SITE_ADMIN_PASSWORD, ["Site Administrator"], [])
        setRoles(portal, TEST_USER_ID, ["Manager"])
        app = portal.aq_parent
        setSite(None)  # else the new site's root is indexed in the first site's catalog
        addPloneSite(
            app,
            SOURCE_SITE_ID,
            extension_ids=["plone.app.contenttypes:default", "plone.restapi:default"],
        )
        source = app[SOURCE_SITE_ID]
        setSite(source)
        applyProfile(source, "senaite_style_sync:default")  # for round trips, the peer syncs too
        source.acl_users.userFolderAddUser(EDITOR_NAME, EDITOR_PASSWORD, ["Member"], [])
        setSite(portal)
        transaction.commit()


class ServerErrors(Layer):
    """Keeps the errors the served sites log (an answer of HTTP 500) and prints a summary when the
    layer ends: a failing test shows only its client's side, and a run far from this machine
    (CI) is mostly read from the end of its output."""

    LOGGERS = ("Zope", "waitress", "ZPublisher")
    SHOWN = 3

    class Collector(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.ERROR)
            self.records: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            if record.name.startswith(ServerErrors.LOGGERS):
                self.records.append(record)

    def setUp(self) -> None:
        self.collector = self.Collector()
        logging.getLogger().addHandler(self.collector)

    def tearDown(self) -> None:
        logging.getLogger().removeHandler(self.collector)
        records = self.collector.records
        if records:
            shown = "\n".join(logging.Formatter().format(r)[:3000] for r in records[: self.SHOWN])
            print(f"\nThe served sites logged {len(records)} error(s); the first:\n{shown}", file=sys.stderr)


SYNC_FIXTURE = SyncLayer()
SERVER_ERRORS = ServerErrors(name="ServerErrors")
SYNC_INTEGRATION_TESTING = IntegrationTesting(bases=(SYNC_FIXTURE,), name="SyncLayer:Integration")
SYNC_FUNCTIONAL_TESTING = FunctionalTesting(
    bases=(SYNC_FIXTURE, WSGI_SERVER_FIXTURE, SERVER_ERRORS), name="SyncLayer:Functional"
)
