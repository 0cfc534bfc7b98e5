"""What the pages make of a peer's answers: links only where the peer's own origin is."""

import json

import transaction

from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.model.state import Conflict
from tests.test_forms import FormTestCase


PEER = "https://lab1.example.org/Plone"


class TestConflictPage(FormTestCase):
    def test_only_the_peers_own_urls_become_links(self):
        remote = create_remote(self.portal, {"name": "lab1", "url": PEER})
        ids = {
            "uid-js": "javascript:alert(document.cookie)",
            "uid-elsewhere": "https://evil.example.org/Plone/page",
            "uid-data": "data:text/html,<script>alert(1)</script>",
            "uid-own": f"{PEER}/folder/page",
        }
        for uid, at_id in ids.items():
            remote_version = json.dumps({"@id": at_id, "title": "Peer"})
            remote.state.conflicts[uid] = Conflict(uid, "folder/page", "changed", remote_version, "{}", "2026-01-01")
        transaction.commit()
        self.browser.open(f"{self.portal_url}/@@sync-conflicts?remote=lab1")
        self.assertIn(f'href="{PEER}/folder/page"', self.browser.contents)
        for uid in ("uid-js", "uid-elsewhere", "uid-data"):
            with self.subTest(uid=uid):
                self.assertNotIn(f'href="{ids[uid]}"', self.text())
                self.assertIn(f"<code>{ids[uid]}</code>", self.text())
        self.assertNotIn('href="javascript:', self.browser.contents)
