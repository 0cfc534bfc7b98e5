"""Import Settings takes only the allow-list; no prefix selects a record on the deny-list."""

import transaction
from Products.CMFCore.utils import getToolByName

from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.importers.registry import import_registry
from senaite_style_sync.importers.registry_policy import SETTINGS
from senaite_style_sync.importers.registry_policy import is_denied
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.peer.http import PeerHTTP
from tests.hostile_cases import CASES
from tests.hostile_peer import HostilePeer
from tests.test_sync_options import OptionsTestCase


DANGEROUS = {
    "plone.webstats_js": "<script>alert('peer')</script>",
    "plone.webstats_head_js": "<script>alert('peer')</script>",
    "plone.enable_self_reg": True,
    "plone.disable_filtering": True,
    "plone.valid_tags": ["script", "iframe"],
    "plone.external_login_url": "https://evil.example/login",
    "plone.email_from_address": "attacker@evil.example",
    "plone.smtp_host": "mail.evil.example",
}


class TestRegistryPolicy(OptionsTestCase):
    def values(self, site):
        registry = getToolByName(site, "portal_registry")
        return {name: registry.records[name].value for name in registry.records.keys()}

    def test_settings_take_only_the_allow_list(self):
        self.on_source()
        registry = getToolByName(self.source, "portal_registry")
        for name, value in (DANGEROUS | {"plone.site_title": "Peer", "plone.navigation_depth": 9}).items():
            registry[name] = value
        transaction.commit()
        self.on_portal()
        before = self.values(self.portal)
        self.make_remote(import_settings=True)
        job, _ = self.run_import(import_registry)
        after = self.values(self.portal)
        changed = {name for name in after if after[name] != before.get(name)}
        self.assertIn("plone.navigation_depth", changed)
        self.assertLessEqual(changed, SETTINGS)
        self.assertEqual(list(job.warnings), [])

    def test_no_prefix_selects_a_denied_record(self):
        self.on_source()
        registry = getToolByName(self.source, "portal_registry")
        for name, value in DANGEROUS.items():
            registry[name] = value
        registry["plone.site_title"] = "Peer"
        transaction.commit()
        self.make_remote(import_registry=True, registry_prefixes=["plone."])
        job, _ = self.run_import(import_registry)
        self.on_portal()
        registry = getToolByName(self.portal, "portal_registry")
        self.assertEqual(registry["plone.site_title"], "Peer")  # the administrator's explicit choice
        for name, value in DANGEROUS.items():
            self.assertNotEqual(registry[name], value, name)
        warnings = [w for w in job.warnings if w["step"] == "registry"]
        self.assertEqual(len(warnings), 1)
        for name in ("plone.webstats_js", "plone.enable_self_reg", "plone.external_login_url"):
            self.assertIn(name, warnings[0]["message"])

    def test_hostile_registry_cases_change_nothing_outside_the_lists(self):
        cases = [case for case in CASES.values() if case.category == "registry"]
        self.on_portal()
        before = self.values(self.portal)
        with HostilePeer() as peer:
            for options in ({"import_settings": True}, {"import_registry": True, "registry_prefixes": ["plone."]}):
                for case in cases:
                    with self.subTest(case=case.name, options=options):
                        peer.set_case(case.name)
                        try:
                            remote = create_remote(self.portal, {"name": "h", "url": peer.url} | options)
                            import_registry(self.portal, remote, Job("h", "import", "test"), PeerHTTP(peer.url))
                            after = self.values(self.portal)
                            changed = {name for name in after if after[name] != before.get(name)}
                            self.assertEqual({name for name in changed if is_denied(name)}, set())
                            if "import_settings" in options:
                                self.assertLessEqual(changed, SETTINGS)
                        finally:
                            transaction.abort()
