"""Test layers: Plone sites ``plone`` and ``source``, both with the add-on; ``plone`` syncs from ``source``.

SYNC_INTEGRATION_TESTING    in-process, rolled back after each test.
SYNC_FUNCTIONAL_TESTING     both sites served over real HTTP by a WSGI server thread
                            at ``http://<layer["host"]>:<layer["port"]>``.
"""

import atexit
import logging
import os
import sys
import threading
import time
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
from plone.testing import zope as zope_testing
from Products.CMFPlone.factory import addPloneSite
from zope.component import getGlobalSiteManager
from zope.component import provideHandler
from zope.component.hooks import setSite
from ZPublisher.interfaces import IPubFailure

from senaite_style_sync.jobs import runner
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


class InFlight:
    """WSGI middleware that counts the requests its server is answering, body included."""

    def __init__(self, app) -> None:
        self.app = app
        self.count = 0
        self.changed = threading.Condition()

    def __call__(self, environ, start_response):
        with self.changed:
            self.count += 1
        try:
            # Each test has a database of its own: a thread must not begin on the (closed) site
            # that a request of an earlier test left set.
            setSite(None)
            result = self.app(environ, start_response)
            try:
                yield from result
            finally:
                if hasattr(result, "close"):
                    result.close()
        finally:
            with self.changed:
                self.count -= 1
                self.changed.notify_all()

    def wait(self, deadline: float) -> bool:
        """Whether every request ended before ``deadline`` (a time.monotonic() value)."""
        with self.changed:
            return self.changed.wait_for(lambda: self.count == 0, max(0.0, deadline - time.monotonic()))


class WSGIServer(zope_testing.WSGIServer):
    """plone.testing's WSGI server, its requests counted (resource ``in_flight``)."""

    def make_wsgi_app(self):
        self["in_flight"] = InFlight(super().make_wsgi_app())
        return self["in_flight"]

    def tearDown(self) -> None:
        super().tearDown()
        del self["in_flight"]


def wait_for_job_threads(timeout: float = 60) -> list[str]:
    """Join the sync job threads (``sync-<job id>``, their heartbeats) still running; the names
    of those left after ``timeout`` seconds. (A reader pool's threads live as long as the pool.)"""
    deadline = time.monotonic() + timeout
    # Again while new ones appear: a job's own request may start another (a push, its receiver's).
    while (threads := job_threads()) and time.monotonic() < deadline:
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
    return [thread.name for thread in job_threads()]


def job_threads() -> list[threading.Thread]:
    """The sync job threads still running, their heartbeats included."""
    return [
        thread
        for thread in threading.enumerate()
        if thread.name.startswith("sync-") and not thread.name.startswith("sync-reader") and thread.is_alive()
    ]


class Functional(FunctionalTesting):
    """A test ends once its sync jobs and its server's requests have ended. Its database closes
    then: a request still running would find it closed, fail, and leave its server thread unable
    to answer the tests after it (a thread keeps the site a request set, and that request is what
    would have unset it)."""

    SETTLE = 60.0  # seconds
    # A test's own connection stays open until the test ends: a job it starts would wait the
    # whole CLOSE_WAIT for it (tests/test_crash_recovery.py::TestJobConnection tests the wait).
    CLOSE_WAIT = 0.01  # seconds

    def testSetUp(self) -> None:
        super().testSetUp()
        self.close_wait, runner.CLOSE_WAIT = runner.CLOSE_WAIT, self.CLOSE_WAIT

    def testTearDown(self) -> None:
        deadline = time.monotonic() + self.SETTLE
        # Requests, then jobs (a request may start one as it commits), then requests (a job's own).
        settled = self["in_flight"].wait(deadline)
        running = wait_for_job_threads(max(0.0, deadline - time.monotonic()))
        settled = self["in_flight"].wait(deadline) and settled
        if running or not settled:
            print(
                f"\n{self.__name__}: a test ended with sync jobs {running} and "
                f"{self['in_flight'].count} request(s) still running after {self.SETTLE:.0f} s",
                file=sys.stderr,
            )
        super().testTearDown()
        runner.CLOSE_WAIT = self.close_wait


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
            # Once more, a line per kind, when the run ends: where a log cut short still shows it.
            kinds_only = "\n".join(f"  [{count}x] {kind}" for kind, (count, _text) in self.errors.items())
            atexit.register(print, f"\n{summary}\n{kinds_only}", file=sys.stderr)

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
SYNC_WSGI_SERVER = WSGIServer(bases=(zope_testing.STARTUP,), name="SyncLayer:WSGIServer")
SYNC_FUNCTIONAL_TESTING = Functional(
    bases=(SYNC_FIXTURE, SYNC_WSGI_SERVER, SYNC_SERVER_ERRORS), name="SyncLayer:Functional"
)
