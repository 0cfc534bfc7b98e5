"""A real headless browser for end-to-end tests: Playwright driving Debian's Chromium.

Playwright never downloads a browser here: it starts ``/usr/bin/chromium``
(``make test`` installs it). The machine has no network, so Chromium runs with
the flags below, which keep it from phoning home and hanging.

Use the layer ``SYNC_BROWSER_TESTING`` (the functional layer
``SYNC_FUNCTIONAL_TESTING`` plus one Chromium shared by all its tests)::

    class TestSomething(unittest.TestCase):
        layer = SYNC_BROWSER_TESTING

        def test_it(self):
            browser = require_browser(self.layer)   # SkipTest without Chromium
            transaction.commit()                    # setup data the server must see
            with logged_in_page(browser, SITE_OWNER_NAME, SITE_OWNER_PASSWORD) as page:
                page.goto(site_url(self.layer, "plone") + "/@@sync")

or, outside a layer, ``with launch_chromium() as browser: ...``.
"""

import base64
import contextlib
import os
import unittest
from collections.abc import Iterator

from plone.testing import Layer

from senaite_style_sync.testing import SYNC_FUNCTIONAL_TESTING


CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Milliseconds Playwright waits for a page or an element before failing the test.
DEFAULT_TIMEOUT = 30_000
MISSING_CHROMIUM = f"browser tests need Chromium at {CHROMIUM_PATH} (`make test` installs it)"


def chromium_available() -> bool:
    return os.access(CHROMIUM_PATH, os.X_OK)


@contextlib.contextmanager
def launch_chromium() -> Iterator["playwright.sync_api.Browser"]:  # noqa: F821
    """Start Playwright and headless Chromium; close both on exit."""
    if not chromium_available():
        raise unittest.SkipTest(MISSING_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH,
            headless=True,
            args=list(CHROMIUM_ARGS),
        )
        try:
            yield browser
        finally:
            browser.close()


def basic_auth_headers(username: str, password: str) -> dict[str, str]:
    """An ``Authorization`` header sent with every request.

    Plone answers anonymous requests with a redirect to its login form, not a 401
    challenge, so Playwright's ``http_credentials`` would never be used.
    """
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


@contextlib.contextmanager
def logged_in_page(browser, username: str | None = None, password: str | None = None, **context_options):
    """A page in a fresh browser context (own cookies), logged in when a username is given.

    JavaScript errors on the page are collected in ``page.js_errors`` and the console's errors
    in ``page.console_errors`` (lists of str).
    """
    if username is not None:
        headers = dict(context_options.pop("extra_http_headers", {}))
        headers.update(basic_auth_headers(username, password or ""))
        context_options["extra_http_headers"] = headers
    context_options.setdefault("viewport", {"width": 1280, "height": 900})
    context = browser.new_context(**context_options)
    context.set_default_timeout(DEFAULT_TIMEOUT)
    try:
        page = context.new_page()
        page.js_errors = []
        page.console_errors = []
        page.on("pageerror", lambda error: page.js_errors.append(str(error)))
        page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(f"{page.url}: {msg.text}"))
        yield page
    finally:
        context.close()


def site_url(layer, site_id: str = "plone") -> str:
    """The URL of a site (or any Zope path) served by the layer's WSGI server."""
    return f"http://{layer['host']}:{layer['port']}/{site_id}"


def require_browser(layer):
    """The layer's browser, or SkipTest when Chromium is not installed."""
    browser = layer["browser"]
    if browser is None:
        raise unittest.SkipTest(MISSING_CHROMIUM)
    return browser


class ChromiumLayer(Layer):
    """Provides ``browser``: one headless Chromium for all tests of the layer.

    ``browser`` is None when Chromium is missing; tests call ``require_browser``
    to be skipped then rather than fail.
    """

    def setUp(self) -> None:
        self._stack = contextlib.ExitStack()
        browser = None
        if chromium_available():
            browser = self._stack.enter_context(launch_chromium())
        self["browser"] = browser

    def tearDown(self) -> None:
        del self["browser"]
        self._stack.close()


SYNC_BROWSER_TESTING = ChromiumLayer(bases=(SYNC_FUNCTIONAL_TESTING,), name="SyncLayer:Browser")


def testbrowser(app, user=None, password=None):
    """An in-process test browser, logged in with basic auth when ``user`` is given."""
    from plone.testing.zope import Browser

    browser = Browser(app)
    browser.handleErrors = False
    browser.raiseHttpErrors = False
    if user:
        browser.addHeader("Authorization", f"Basic {user}:{password}")
    return browser


class InProcessBrowser:
    """Test-case mixin: ``self.browser``, a test browser logged in as the site owner."""

    def setUp(self):
        from plone.app.testing import SITE_OWNER_NAME
        from plone.app.testing import SITE_OWNER_PASSWORD

        super().setUp()
        self.portal = self.layer["portal"]
        self.portal_url = self.portal.absolute_url()
        self.browser = self.browser_as(SITE_OWNER_NAME, SITE_OWNER_PASSWORD)

    def browser_as(self, user=None, password=None):
        return testbrowser(self.layer["app"], user, password)

    def text(self):
        import html

        return html.unescape(self.browser.contents)
