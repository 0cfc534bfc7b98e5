"""Test connection against real servers: a Plone site over HTTP, a closed port, TLS, a non-Plone site."""

import unittest

from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD

from senaite_style_sync.peer.probe import check_connection
from senaite_style_sync.testing import SOURCE_SITE_ID
from senaite_style_sync.testing import SYNC_FUNCTIONAL_TESTING
from tests.servers import closed_port
from tests.servers import html_server


class TestConnection(unittest.TestCase):
    layer = SYNC_FUNCTIONAL_TESTING

    def setUp(self):
        self.source_url = f"http://{self.layer['host']}:{self.layer['port']}/{SOURCE_SITE_ID}"

    def test_plone_site_with_right_credentials(self):
        report = check_connection(self.source_url, SITE_OWNER_NAME, SITE_OWNER_PASSWORD)
        self.assertEqual(report.code, "ok", report.message)
        self.assertIn(f"logged in as {SITE_OWNER_NAME}", report.message)

    def test_plone_site_anonymously(self):
        report = check_connection(self.source_url)
        self.assertEqual(report.code, "ok", report.message)

    def test_wrong_password(self):
        report = check_connection(self.source_url, SITE_OWNER_NAME, "wrong-password")
        self.assertEqual(report.code, "credentials", report.message)
        self.assertNotIn("wrong-password", report.message)

    def test_closed_port(self):
        report = check_connection(f"http://localhost:{closed_port()}/Plone", SITE_OWNER_NAME, SITE_OWNER_PASSWORD)
        self.assertEqual(report.code, "unreachable", report.message)

    def test_not_a_plone_site(self):
        with html_server() as (url, _):
            report = check_connection(url, "user", "secret")
        self.assertEqual(report.code, "not-plone", report.message)

    def test_zope_root_is_not_a_plone_site(self):
        report = check_connection(f"http://{self.layer['host']}:{self.layer['port']}")
        self.assertEqual(report.code, "not-plone", report.message)

    def test_self_signed_certificate_is_a_tls_failure(self):
        with html_server(tls=True) as (url, _):
            report = check_connection(url, "user", "secret")
        self.assertEqual(report.code, "tls", report.message)

    def test_certificate_path_trusts_the_peer(self):
        with html_server(tls=True) as (url, ca_file):
            report = check_connection(url, "user", "secret", certificate_path=str(ca_file))
        # TLS now succeeds, so the next check decides: this peer is no Plone site.
        self.assertEqual(report.code, "not-plone", report.message)
