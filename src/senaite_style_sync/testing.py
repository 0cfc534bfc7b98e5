"""Test layers: Plone sites ``plone`` and ``source``, both with the add-on; ``plone`` syncs from ``source``.

SYNC_INTEGRATION_TESTING    in-process, rolled back after each test.
SYNC_FUNCTIONAL_TESTING     both sites served over real HTTP by a WSGI server thread
                            at ``http://<layer["host"]>:<layer["port"]>``.
"""

import logging
import os
import sys
import traceback
from urllib.parse import urlsplit

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
from zope.component import getGlobalSiteManager
from zope.component import provideHandler
from zope.component.hooks import setSite
from ZPublisher.interfaces import IPubFailure

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
    """Keeps the server side (URL and traceback) of every HTTP 500 the served sites answer, and
    prints a summary when the layer ends: a failing test shows only its client's side, and a run
    far from this machine (CI) is mostly read from the end of its output. It sees what Zope's
    publisher answers (IPubFailure; plone.restapi's errors are not logged) and what escapes it
    to the WSGI server (waitress logs those). Errors are grouped by path and exception, each kind
    shown once with its count: some are expected (stock plone.restapi's ``@registry`` fails on
    some records, which the sync works around)."""

    SHOWN = 5

    class Collector(logging.Handler):
        def __init__(self, layer: "ServerErrors") -> None:
            super().__init__(logging.ERROR)
            self.layer = layer

        def emit(self, record: logging.LogRecord) -> None:
            self.layer.keep(record.getMessage()[:200], logging.Formatter().format(record))

    def setUp(self) -> None:
        self.errors: dict[str, list] = {}  # kind -> [count, the first one's text]
        self.collector = self.Collector(self)
        logging.getLogger("waitress").addHandler(self.collector)
        provideHandler(self.failed, (IPubFailure,))

    def tearDown(self) -> None:
        logging.getLogger("waitress").removeHandler(self.collector)
        getGlobalSiteManager().unregisterHandler(self.failed, (IPubFailure,))
        if self.errors:
            total = sum(count for count, _text in self.errors.values())
            kinds = list(self.errors.items())[: self.SHOWN]
            shown = "\n".join(f"[{count}x] {kind}\n{text[:3000]}" for kind, (count, text) in kinds)
            summary = f"{self.__name__}: the served sites answered {total} HTTP 500(s), {len(self.errors)} kind(s):"
            print(f"\n{summary}\n{shown}", file=sys.stderr)

    def failed(self, event) -> None:
        if event.retry or event.request.response.getStatus() < 500:
            return
        path = urlsplit(event.request.get("ACTUAL_URL", "")).path
        error = traceback.format_exception_only(event.exc_info[0], event.exc_info[1])[-1].strip()
        self.keep(f"{path}: {error[:200]}", "".join(traceback.format_exception(*event.exc_info)))

    def keep(self, kind: str, text: str) -> None:
        entry = self.errors.setdefault(kind, [0, text])
        entry[0] += 1


SYNC_FIXTURE = SyncLayer()
# One per functional layer: each registers its handler in its own layer's component registry.
SYNC_SERVER_ERRORS = ServerErrors(name="SyncLayer:ServerErrors")
SYNC_INTEGRATION_TESTING = IntegrationTesting(bases=(SYNC_FIXTURE,), name="SyncLayer:Integration")
SYNC_FUNCTIONAL_TESTING = FunctionalTesting(
    bases=(SYNC_FIXTURE, WSGI_SERVER_FIXTURE, SYNC_SERVER_ERRORS), name="SyncLayer:Functional"
)
