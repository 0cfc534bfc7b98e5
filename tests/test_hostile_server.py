"""The hostile peer server itself (tests.hostile_peer, tests.hostile_cases): no Plone, plain HTTP.

The good model must answer in plone.restapi's shapes; every crafted case must be settable
and visible on the wire at its endpoint, promptly, without the server holding huge bodies.
"""

import gzip
import resource
import threading
import time
import unittest
import zlib
from urllib.parse import urlsplit

import requests

from tests.hostile_peer import BEHAVIOURS
from tests.hostile_peer import ENDPOINTS
from tests.hostile_peer import EXPECTATIONS
from tests.hostile_peer import GB
from tests.hostile_peer import MB
from tests.hostile_peer import SITE_UID
from tests.hostile_peer import HostilePeer
from tests.hostile_peer import Locals
from tests.hostile_peer import PeerModel
from tests.hostile_peer import deflate_bomb
from tests.hostile_peer import encode_json
from tests.hostile_peer import gzip_bomb
from tests.hostile_peer import huge_string
from tests.hostile_peer import lazy_array
from tests.hostile_peer import uid


LISTING_FIELDS = [("metadata_fields", name) for name in ("UID", "modified", "portal_type", "review_state")]
TIMEOUT = 5
# How much of an answer the per-case probe reads at most.
READ_AT_MOST = 2 * MB
# Cases whose answer is the good one up to its Content-Length: what differs follows it on the connection.
AFTER_THE_BODY = {"blob-longer-than-content-length", "keepalive-smuggled-response"}


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


class PeerTestCase(unittest.TestCase):
    model_factory = staticmethod(PeerModel.default)

    # zope.testrunner runs tests one by one (no setUpClass): a peer per test, which starts in milliseconds.
    def setUp(self):
        self.peer = HostilePeer(self.model_factory(), hang_seconds=3).start()
        self.session = requests.Session()

    def tearDown(self):
        self.session.close()
        self.peer.stop()

    def get(self, url, params=None, **kwargs):
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.get(url, params=params, headers={"Accept": "application/json"}, **kwargs)

    def json(self, url, params=None):
        response = self.get(url, params)
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertEqual(response.headers["Content-Type"], "application/json")
        return response.json()


class TestGoodPeer(PeerTestCase):
    """The good model answers every endpoint the sync client uses, in plone.restapi's shapes."""

    model_factory = staticmethod(lambda: PeerModel.default(extra_documents=7))

    def keyset_pages(self, params, size):
        """Page the way PeerClient._pages_by_uid does; returns (items, pages)."""
        url = f"{self.peer.url}/@search"
        last, seen, pages = "", [], 0
        while True:
            query = params + [("sort_on", "UID"), ("b_size", size)]
            if last:
                query += [("UID.query", last), ("UID.range", "min")]
            page = self.json(url, query)
            pages += 1
            self.assertEqual(len(page["items"]), min(size, page["items_total"]))
            new = [item for item in page["items"] if item["UID"] != last]
            seen += new
            if len(page["items"]) == page["items_total"]:
                return seen, pages
            last = page["items"][-1]["UID"]

    def test_site(self):
        site = self.json(self.peer.url)
        self.assertEqual(site["@id"], self.peer.url)
        self.assertEqual(site["title"], "Peer site")
        self.assertEqual(site["@type"], "Plone Site")
        self.assertEqual(site["UID"], SITE_UID)
        self.assertIn("items", site)

    def test_keyset_listing_is_complete_and_consistent(self):
        items, pages = self.keyset_pages(list(LISTING_FIELDS), 3)
        uids = [item["UID"] for item in items]
        expected = sorted(item.uid for item in self.peer.model.catalogued())
        self.assertEqual(uids, expected)  # every object once, in UID order, the site root too
        self.assertGreater(pages, 4)
        for item in items:
            self.assertEqual(
                set(item),
                {
                    "@id",
                    "@type",
                    "UID",
                    "description",
                    "modified",
                    "portal_type",
                    "review_state",
                    "title",
                    "type_title",
                },
            )
        by_uid = {item["UID"]: item for item in items}
        page = by_uid[uid(2)]
        self.assertEqual(page["@id"], f"{self.peer.url}/folder/page")
        self.assertEqual((page["portal_type"], page["review_state"]), ("Document", "published"))
        self.assertEqual(by_uid[SITE_UID]["@id"], self.peer.url)
        self.assertIsNone(by_uid[uid(3)]["review_state"])  # File: no workflow

    def test_listing_page_has_plone_restapi_batching(self):
        page = self.json(f"{self.peer.url}/@search", LISTING_FIELDS + [("sort_on", "UID"), ("b_size", 4)])
        self.assertEqual(page["items_total"], len(self.peer.model.catalogued()))
        self.assertEqual(set(page["batching"]), {"@id", "first", "last", "next"})
        self.assertIn("b_start=4", page["batching"]["next"])
        self.assertNotIn("sort_on", page["@id"])  # the canonical URL drops batching and sorting

    def sync_list_pages(self, size):
        """Page @sync-list the way AddonReader does (senaite_style_sync.peer.listing.pages_by_uid)."""
        url = f"{self.peer.url}/@sync-list"
        last, seen, pages = "", [], 0
        while True:
            query = [("sort_on", "UID"), ("b_size", size)]
            if last:
                query += [("UID.query", last), ("UID.range", "min")]
            page = self.json(url, query)
            pages += 1
            self.assertEqual(set(page), {"items", "items_total"})
            self.assertEqual(len(page["items"]), min(size, page["items_total"]))
            seen += [item for item in page["items"] if item["UID"] != last]
            if len(page["items"]) == page["items_total"]:
                return seen, pages
            last = page["items"][-1]["UID"]

    def test_sync_list_keyset_pages(self):
        items, pages = self.sync_list_pages(3)
        model = self.peer.model
        self.assertEqual([item["UID"] for item in items], sorted(item.uid for item in model.catalogued()))
        self.assertGreater(pages, 4)
        for item in items:
            self.assertEqual(set(item), {"@id", "UID", "portal_type", "modified", "review_state", "position", "meta"})
            self.assertRegex(item["meta"], r"^[0-9a-f]{40}$")
        by_uid = {item["UID"]: item for item in items}
        page, file, sub = (by_uid[model.at(path).uid] for path in ("folder/page", "folder/file", "folder/sub"))
        self.assertEqual(page["@id"], f"{self.peer.url}/folder/page")
        self.assertEqual((page["portal_type"], page["review_state"], page["position"]), ("Document", "published", 0))
        self.assertEqual((file["review_state"], file["position"]), ("", 1))  # no workflow: "", as the add-on
        self.assertEqual(sub["position"], 2)
        self.assertEqual(by_uid[SITE_UID]["@id"], self.peer.url)
        self.assertNotEqual(by_uid[uid(1)]["meta"], by_uid[uid(4)]["meta"])  # local roles, inheritance differ
        again, _pages = self.sync_list_pages(1000)
        self.assertEqual(again, items)  # meta is stable

    def test_sync_list_honours_the_cursor_and_the_page_size(self):
        url = f"{self.peer.url}/@sync-list"
        page = self.json(url, [("sort_on", "UID"), ("b_size", 2), ("UID.query", uid(3)), ("UID.range", "min")])
        self.assertEqual([item["UID"] for item in page["items"]], [uid(3), uid(4)])  # "min": the cursor included
        self.assertEqual(page["items_total"], len([c for c in self.peer.model.catalogued() if c.uid >= uid(3)]))
        self.assertEqual(len(self.json(url, [("b_size", 5000)])["items"]), len(self.peer.model.catalogued()))
        self.assertEqual(len(self.json(url, [("b_size", 0)])["items"]), 1)

    def test_a_stock_peer_has_no_sync_list(self):
        self.peer.good_model.serves_sync_read = False
        try:
            self.peer.case = None
            self.assertEqual(self.get(f"{self.peer.url}/@sync-list").status_code, 404)
            self.assertEqual(self.get(f"{self.peer.url}/@sync-read").status_code, 404)
        finally:
            self.peer.good_model.serves_sync_read = True
            self.peer.case = None

    def test_positions(self):
        params = [("sort_on", "getObjPositionInParent"), ("sort_on", "UID"), ("metadata_fields", "UID")]
        ranks, start = {}, 0
        while True:
            page = self.json(f"{self.peer.url}/@search", params + [("b_start", start), ("b_size", 4)])
            for offset, item in enumerate(page["items"]):
                ranks.setdefault(item["UID"], start + offset)
            start += 4
            if not page["items"] or start >= page["items_total"]:
                break
        model = self.peer.model
        self.assertEqual(len(ranks), len(model.catalogued()))
        self.assertLess(ranks[model.at("folder/page").uid], ranks[model.at("folder/sub").uid])
        self.assertLess(ranks[model.at("folder/file").uid], ranks[model.at("folder/sub").uid])

    def test_default_pages(self):
        items, _pages = self.keyset_pages([("is_default_page", "true"), ("metadata_fields", "UID")], 2)
        self.assertEqual([item["UID"] for item in items], [self.peer.model.at("folder/sub/index").uid])

    def test_lookup_and_its_batching(self):
        wanted = [uid(2), uid(3), uid(7), "ffff" * 8]
        params = [("UID", u) for u in wanted] + LISTING_FIELDS + [("b_size", 2)]
        page = self.json(f"{self.peer.url}/@search", params)
        found = [item["UID"] for item in page["items"]]
        while page.get("batching", {}).get("next"):
            page = self.json(page["batching"]["next"])
            found += [item["UID"] for item in page["items"]]
        self.assertEqual(sorted(found), sorted(wanted[:3]))

    def test_probe_and_sync_read(self):
        self.assertEqual(self.json(f"{self.peer.url}/@sync-read"), {"items": []})
        data = self.json(f"{self.peer.url}/@sync-read", [("UID", uid(1)), ("UID", uid(2)), ("UID", uid(3))])
        items = {item["UID"]: item for item in data["items"]}
        self.assertEqual(set(items), {uid(1), uid(2), uid(3)})
        page = items[uid(2)]
        self.assertEqual(page["@id"], f"{self.peer.url}/folder/page")
        self.assertEqual(page["@type"], "Document")
        self.assertEqual(page["text"]["content-type"], "text/html")
        # Rich text as stored, with resolveuid links, named in @stored-fields (as the add-on serves it).
        self.assertEqual(page["@stored-fields"], ["text"])
        self.assertIn(f'<a href="resolveuid/{uid(3)}">the file</a>', page["text"]["data"])
        self.assertNotIn(self.peer.url, page["text"]["data"])
        self.assertEqual(items[uid(1)]["@stored-fields"], [])
        self.assertEqual(page["parent"]["@id"], f"{self.peer.url}/folder")
        self.assertEqual(page["relatedItems"][0]["@id"], f"{self.peer.url}/link")
        workflow = page["@components"]["workflow"]
        self.assertEqual(set(workflow), {"@id", "history"})
        self.assertEqual([entry["review_state"] for entry in workflow["history"]], ["private", "published"])
        self.assertEqual(set(workflow["history"][0]), {"action", "actor", "comments", "review_state", "time", "title"})
        self.assertEqual(set(page["@sharing"]), {"inherit", "entries", "available_roles"})
        folder = items[uid(1)]
        self.assertEqual(folder["@sharing"]["entries"], [{"id": "editor1", "roles": {"Editor": True}}])
        self.assertNotIn("items", folder)  # include_items=False, as @search?fullobjects
        self.assertEqual(items[uid(3)]["@components"]["workflow"]["history"], [])

    def test_fullobjects_and_stock_sharing(self):
        data = self.json(
            f"{self.peer.url}/@search",
            [("fullobjects", "1"), ("expand", "workflow"), ("b_size", 2), ("UID", uid(2)), ("UID", uid(4))],
        )
        self.assertEqual(data["items_total"], 2)
        items = {item["UID"]: item for item in data["items"]}
        workflow = items[uid(2)]["@components"]["workflow"]
        self.assertEqual(set(workflow), {"@id", "history", "state", "transitions"})
        self.assertNotIn("@sharing", items[uid(2)])
        self.assertNotIn("@stored-fields", items[uid(2)])  # stock plone.restapi renders rich text
        self.assertIn(f'href="{self.peer.url}/folder/file"', items[uid(2)]["text"]["data"])
        sharing = self.json(f"{self.peer.url}/folder/sub/@sharing")
        self.assertFalse(sharing["inherit"])
        self.assertEqual(
            [role["id"] for role in sharing["available_roles"]], ["Contributor", "Editor", "Reader", "Reviewer"]
        )
        entry = sharing["entries"][0]
        self.assertEqual(set(entry), {"disabled", "id", "login", "roles", "title", "type"})
        self.assertEqual(entry["id"], "AuthenticatedUsers")
        self.assertEqual(self.json(f"{self.peer.url}/folder/@sharing")["entries"][1]["roles"]["Editor"], True)

    def test_downloads_match_the_stated_size(self):
        data = self.json(f"{self.peer.url}/@sync-read", [("UID", uid(3)), ("UID", uid(6))])
        for item in data["items"]:
            field = item.get("file") or item.get("image")
            self.assertEqual(set(field) >= {"content-type", "download", "filename", "size"}, True)
            response = self.get(field["download"])
            self.assertEqual(response.status_code, 200)
            self.assertEqual(len(response.content), field["size"])
            self.assertEqual(int(response.headers["Content-Length"]), field["size"])
            self.assertEqual(response.headers["Content-Type"], field["content-type"])
        self.assertEqual(self.get(f"{self.peer.url}/folder/file/@@download/nope").status_code, 404)

    def test_registry(self):
        url = f"{self.peer.url}/@registry"
        total = self.json(url, {"b_start": 10**9, "b_size": 1})
        self.assertEqual(total["items"], [])
        names = []
        for start in range(0, total["items_total"], 4):
            page = self.json(url, {"b_start": start, "b_size": 4})
            names += [item["name"] for item in page["items"]]
            for item in page["items"]:
                self.assertEqual(set(item), {"name", "value", "schema"})
                self.assertIn("type", item["schema"]["properties"])
        self.assertEqual(names, sorted(self.peer.model.registry))
        filtered = self.json(url, {"q": "plone.email", "b_start": 0, "b_size": 100})
        self.assertEqual(
            [item["name"] for item in filtered["items"]], ["plone.email_from_address", "plone.email_from_name"]
        )
        self.assertEqual(self.json(f"{url}/plone.navigation_depth"), 3)
        self.assertEqual(self.get(f"{url}/plone.nothing").status_code, 404)

    def test_users_and_groups(self):
        users = self.json(f"{self.peer.url}/@users")
        self.assertEqual(users["items_total"], 2)
        reviewer = next(user for user in users["items"] if user["id"] == "reviewer1")
        self.assertEqual(reviewer["roles"], ["Member", "Reviewer"])
        self.assertEqual(reviewer["username"], "reviewer1")
        self.assertIn("Reviewers", [group["id"] for group in reviewer["groups"]["items"]])
        groups = self.json(f"{self.peer.url}/@groups")
        self.assertIsInstance(groups, list)
        by_id = {group["id"]: group for group in groups}
        self.assertIn("AuthenticatedUsers", by_id)
        self.assertEqual(by_id["Reviewers"]["members"]["items"], ["reviewer1"])
        self.assertEqual(by_id["Administrators"]["roles"], ["Manager", "Authenticated"])
        group = self.json(f"{self.peer.url}/@groups/editors", {"b_size": 1000})
        self.assertEqual(
            group["members"], {"@id": f"{self.peer.url}/@groups/editors", "items_total": 1, "items": ["editor1"]}
        )

    def test_group_members_are_batched_like_plone_restapi(self):
        self.peer.good_model.groups.append(
            type(self.peer.good_model.groups[0])("big", "Big", members=[f"m{i:02d}" for i in range(30)])
        )
        try:
            self.peer.case = None
            listed = {group["id"]: group for group in self.json(f"{self.peer.url}/@groups")}["big"]["members"]
            self.assertEqual((len(listed["items"]), listed["items_total"]), (25, 30))
            page = self.json(f"{self.peer.url}/@groups/big", {"b_size": 20})
            members = list(page["members"]["items"])
            page = self.json(page["members"]["batching"]["next"])
            members += page["members"]["items"]
            self.assertEqual(members, [f"m{i:02d}" for i in range(30)])
        finally:
            self.peer.good_model.groups.pop()
            self.peer.case = None

    def test_requests_are_recorded_with_authorization_presence(self):
        self.session.get(self.peer.url, auth=("admin", "secret"), timeout=TIMEOUT)
        self.session.get(f"{self.peer.url}/@users", timeout=TIMEOUT)
        self.session.get(f"{self.peer.alias_origin}/Plone/@groups", timeout=TIMEOUT)
        site, users, groups = self.peer.requests
        self.assertEqual((site.method, site.endpoint, site.authorization, site.origin), ("GET", "site", True, "peer"))
        self.assertEqual((users.endpoint, users.authorization), ("users", False))
        self.assertEqual((groups.endpoint, groups.origin), ("groups", "alias"))
        self.assertEqual(site.headers["host"], urlsplit(self.peer.url).netloc)
        response = self.session.get(f"{self.peer.canary_origin}/anything", timeout=TIMEOUT)
        self.assertEqual(response.json()["canary"], True)
        self.assertEqual([r.path for r in self.peer.canary_requests], ["/anything"])
        self.assertEqual(len(self.peer.requests), 3)

    def test_endpoints_are_told_apart(self):
        for endpoint in ENDPOINTS:
            url, params = self.peer.sample_request(endpoint)
            self.get(url, params)
            self.assertEqual(self.peer.requests[-1].endpoint, endpoint)

    def test_credentials_can_be_required(self):
        with HostilePeer(credentials=("admin", "secret")) as peer:
            self.assertEqual(requests.get(peer.url, timeout=TIMEOUT).status_code, 401)
            self.assertEqual(requests.get(peer.url, auth=("admin", "secret"), timeout=TIMEOUT).status_code, 200)


class TestHelpers(unittest.TestCase):
    def test_lazy_json_is_exact(self):
        body = encode_json({"title": huge_string(100_000), "items": lazy_array(3, lambda i: {"n": i})})
        data = b"".join(body.chunks())
        self.assertIsNone(body.length)  # a lazy array has no length known in advance
        import json

        decoded = json.loads(data)
        self.assertEqual(len(decoded["title"]), 100_000)
        self.assertEqual(decoded["items"], [{"n": 0}, {"n": 1}, {"n": 2}])
        sized = encode_json({"t": huge_string(1000)})
        self.assertEqual(sized.length, len(b"".join(sized.chunks())))

    def test_gzip_bomb_inflates_to_what_it_says(self):
        small = gzip_bomb(total=3 * 16 * MB, prefix=b"[", suffix=b"]", fill=b"0")
        wire = b"".join(small.chunks())
        self.assertEqual(len(wire), small.length)
        self.assertEqual(gzip.decompress(wire), b"[" + b"0" * (3 * 16 * MB) + b"]")
        big = gzip_bomb()
        self.assertLess(big.length, 20 * MB)  # 10 GB of zeros, about 10 MB on the wire

    def test_deflate_bomb_is_a_valid_zlib_stream(self):
        small = deflate_bomb(total=4 * MB, block_size=1 * MB)
        wire = b"".join(small.chunks())
        self.assertEqual(len(wire), small.length)
        self.assertEqual(zlib.decompress(wire), bytes(4 * MB))  # checksum included
        self.assertLess(deflate_bomb(10 * GB).length, 20 * MB)


class TestCatalogue(unittest.TestCase):
    def test_size_and_categories(self):
        from tests.hostile_cases import CATEGORIES
        from tests.hostile_peer import CASES
        from tests.hostile_peer import cases_by_category

        self.assertGreaterEqual(len(CASES), 120)
        grouped = cases_by_category()
        self.assertEqual(tuple(grouped), CATEGORIES)
        for category, cases in grouped.items():
            self.assertTrue(cases, category)
        for name, case in CASES.items():
            self.assertEqual(name, case.name)
            self.assertIn(case.expect, EXPECTATIONS, name)
            self.assertIn(case.behaviour, BEHAVIOURS, name)
            self.assertIn(case.endpoint, ENDPOINTS, name)
            self.assertRegex(name, r"^[a-z0-9][a-z0-9-]*$")
            self.assertTrue(case.answer or case.prepare, name)

    def test_required_coverage(self):
        from tests.hostile_peer import CASES

        for name in [
            "listing-uid-int",
            "listing-id-null",
            "listing-portaltype-int",
            "listing-modified-int",
            "object-page-title-int",
            "object-page-text-string",
            "object-page-components-list",
            "object-page-components-workflow-history-ints",
            "object-page-reviewstate-int",
            "object-page-created-garbage",
            "object-page-creators-string",
            "object-page-subjects-string",
            "object-file-file-download-int",
            "object-about-relateditems-id-int",
            "object-page-layout-int",
            "object-page-sharing-list",
            "listing-no-items",
            "listing-no-items-total",
            "listing-item-no-uid",
            "listing-item-no-id",
            "id-dotdot",
            "id-dot",
            "id-acl-users-sub",
            "id-portal-catalog-sub",
            "id-request",
            "id-aq-parent",
            "id-underscore",
            "id-at-at",
            "id-very-long",
            "id-empty",
            "id-encoded-slash",
            "title-10mb",
            "deep-json-listing",
            "path-500-deep-chain",
            "listing-id-javascript",
            "remote-url-data",
            "text-href-vbscript",
            "download-javascript",
            "download-link-local",
            "lookup-next-link-local",
            "download-302-link-local",
            "download-302-self-loop",
            "download-302-same-origin",
            "listing-repeats-first-page",
            "listing-endless",
            "listing-claims-more",
            "listing-backwards",
            "listing-duplicate-uid",
            "listing-short-page",
            "blob-truncated",
            "blob-oversized",
            "blob-endless",
            "download-gzip-bomb",
            "listing-json-gzip-bomb",
            "local-uid-hijack",
            "sharing-authenticated-manager",
            "sharing-authenticated-site-administrator",
            "sharing-authenticated-owner",
            "sharing-unknown-role",
            "user-role-manager",
            "user-role-site-administrator",
            "existing-admin-email",
            "group-administrators-member",
            "group-site-administrators-member",
            "group-id-is-local-user",
            "registry-webstats-js",
            "registry-webstats-head-js",
            "registry-enable-self-reg",
            "registry-enable-self-reg-string",
            "registry-external-login-url",
            "registry-smtp-pass",
            "registry-navigation-depth-string",
            "hang-listing",
            "closes-mid-body-listing",
            "not-json-listing",
            "empty-200-site",
            "http-302-download",
            "http-404-sync-read",
            "http-500-listing",
            "sync-list-position-string",
            "sync-list-meta-list",
            "sync-list-item-no-uid",
            "sync-list-endless",
            "sync-list-stuck-at-cursor",
            "sync-list-goes-backwards",
            "sync-list-items-total-more",
            "sync-list-items-total-fewer",
            "stored-fields-string",
            "stored-fields-unknown-names",
            "stored-text-href-javascript",
            "stored-text-script-tag",
            "stored-remote-url-javascript",
        ]:
            self.assertIn(name, CASES)

    def test_search_listing_cases_are_served_by_a_stock_peer(self):
        from tests.hostile_peer import CASES

        for case in CASES.values():
            if case.endpoint in ("listing", "positions") and case.answer is not None:
                self.assertIs(case.serves_sync_read, False, case.name)
            if case.endpoint == "lookup":
                peer = HostilePeer()
                peer.set_case(case)
                self.assertFalse(peer.model.at("folder/page").listed, case.name)

    def test_every_case_prepares_with_or_without_locals(self):
        from tests.hostile_peer import CASES

        peer = HostilePeer()  # not started: preparing needs no server
        for case in CASES.values():
            for local in (Locals(), Locals(uids=("abcdef01" * 4,), admin_id="admin")):
                peer.set_case(case, local)
                self.assertIs(peer.case, case)
        peer.case = None
        self.assertIsNone(peer.case)

    def test_local_uids_reach_the_cases(self):
        local = "abcdef01" * 4
        with HostilePeer(locals=Locals(uids=(local,), types=((local, "News Item"),))) as peer:
            peer.case = "local-uid-hijack"
            item = peer.model.at("hijacked")
            self.assertEqual((item.uid, item.portal_type), (local, "News Item"))
            listing = requests.get(*peer.sample_for(), timeout=TIMEOUT).json()
            self.assertIn(local, [i["UID"] for i in listing["items"]])
            peer.set_case("existing-admin-email", Locals(admin_id="boss"))
            self.assertEqual(peer.model.user("boss").email, "attacker@evil.example")


class TestCasesMeanWhatTheySay(PeerTestCase):
    """Spot checks: the answer of a case is the mutation its name says, not just any difference."""

    def answer(self, name):
        self.peer.case = name
        return self.get(*self.peer.sample_for()).json()

    def test_listing_mutations(self):
        total = len(self.peer.model.catalogued())
        page = self.answer("listing-short-page")
        self.assertEqual((len(page["items"]), page["items_total"]), (total - 1, total))
        uids = [item["UID"] for item in self.answer("listing-backwards")["items"]]
        self.assertEqual(uids, sorted(uids, reverse=True))
        uids = [item["UID"] for item in self.answer("listing-duplicate-uid")["items"]]
        self.assertEqual(len(set(uids)), len(uids) - 1)
        self.assertNotIn("items", self.answer("listing-no-items"))
        self.assertEqual(self.answer("listing-claims-more")["items_total"], total + 1)
        self.assertEqual(self.answer("listing-uid-int")["items"][2]["UID"], 12345)  # folder/page, after root and folder
        self.assertNotIn("@id", self.answer("listing-item-no-id")["items"][2])
        page = self.answer("listing-repeats-first-page")
        self.assertEqual(page["items"][0]["UID"], SITE_UID)  # asked from uid(3) on, answered from the start
        page = self.answer("listing-endless")
        self.assertEqual((len(page["items"]), page["items_total"]), (1000, 10**12))

    def test_sync_list_mutations(self):
        page = self.answer("sync-list-position-string")
        self.assertEqual(page["items"][2]["position"], "2")  # folder/page, after root and folder
        self.assertEqual(page["items"][2]["UID"], uid(2))
        self.assertNotIn("UID", self.answer("sync-list-item-no-uid")["items"][2])
        self.assertEqual(self.answer("sync-list-item-no-id")["items"][2].get("@id"), None)
        page = self.answer("sync-list-stuck-at-cursor")  # asked from uid(3) on
        self.assertEqual({item["UID"] for item in page["items"]}, {uid(3)})
        self.assertEqual(page["items_total"], 10**6)
        page = self.answer("sync-list-goes-backwards")
        self.assertTrue(all(item["UID"] < uid(3) for item in page["items"]))
        self.assertEqual(len(page["items"]), page["items_total"])  # looks complete
        page = self.answer("sync-list-endless")
        self.assertEqual((len(page["items"]), page["items_total"]), (1000, 10**12))
        total = len(self.peer.model.catalogued())
        self.assertEqual(self.answer("sync-list-items-total-more")["items_total"], total + 1)
        self.assertEqual(self.answer("sync-list-items-total-fewer")["items_total"], total - 1)
        self.assertNotIn(uid(2), [item["UID"] for item in self.answer("sync-list-omits-page")["items"]])

    def test_stored_field_mutations(self):
        self.assertEqual(self.answer("stored-fields-string")["items"][0]["@stored-fields"], "text")
        self.assertNotIn("@stored-fields", self.answer("stored-fields-missing")["items"][0])
        item = self.answer("stored-text-script-tag")["items"][0]
        self.assertIn("<script>", item["text"]["data"])
        self.assertEqual(item["@stored-fields"], ["text"])
        rendered = self.get(
            f"{self.peer.url}/@search", [("fullobjects", "1"), ("UID", uid(2)), ("expand", "workflow")]
        ).json()
        self.assertNotIn("<script>", rendered["items"][0]["text"]["data"])  # only the stored form is hostile
        self.assertEqual(
            self.answer("stored-remote-url-javascript")["items"][0]["remoteUrl"], "javascript:alert(document.domain)"
        )

    def test_lookup_cases_leave_the_page_out_of_the_listings(self):
        self.peer.case = "lookup-no-items"
        listed = self.get(f"{self.peer.url}/@search", LISTING_FIELDS + [("sort_on", "UID"), ("b_size", 100)]).json()
        self.assertNotIn(uid(2), [item["UID"] for item in listed["items"]])
        self.assertNotIn(uid(2), [item["UID"] for item in self.get(f"{self.peer.url}/@sync-list").json()["items"]])
        found = self.get(f"{self.peer.url}/@search", [("UID", uid(2))] + LISTING_FIELDS).json()
        self.assertNotIn("items", found)  # the case: the lookup answers without items
        self.peer.case = None

    def test_object_mutations(self):
        item = self.answer("object-file-file-download-int")["items"][0]
        self.assertEqual(item["file"]["download"], 123)
        item = self.answer("object-page-components-workflow-history-ints")["items"][0]
        self.assertEqual(item["@components"]["workflow"]["history"], [1, 2])
        self.assertNotIn("@sharing", self.answer("object-page-no-sharing")["items"][0])
        sharing = self.answer("sharing-authenticated-manager")["items"][0]["@sharing"]
        self.assertEqual(sharing["entries"], [{"id": "AuthenticatedUsers", "roles": {"Manager": True}}])
        item = self.answer("download-canary")["items"][0]
        self.assertTrue(item["file"]["download"].startswith(self.peer.canary_origin))
        self.assertEqual(len(self.answer("title-10mb")["items"][0]["title"]), 10 * MB)

    def test_principal_and_registry_mutations(self):
        self.peer.locals = Locals(admin_id="boss")
        users = {user["id"]: user for user in self.answer("existing-admin-email")["items"]}
        self.assertEqual(users["boss"]["email"], "attacker@evil.example")
        groups = {group["id"]: group for group in self.answer("group-site-administrators-member")}
        self.assertEqual(groups["Site Administrators"]["members"]["items"], ["mallory"])
        self.assertNotIn("id", self.answer("group-no-id")[-1])
        records = {item["name"]: item["value"] for item in self.answer("registry-webstats-js")["items"]}
        self.assertIn("<script>", records["plone.webstats_js"])
        self.assertNotIn("items_total", self.answer("registry-no-items-total"))


class TestEveryCase(PeerTestCase):
    """Each case can be set; a request for its endpoint shows it promptly; the server holds no huge body."""

    def fingerprint(self, url, params, behaviour="answers"):
        """What the wire shows for a request: (status, headers that matter, body prefix, note, seconds)."""
        # A hang shows as a read timeout; a stream drips every 0.5 s, which a loaded machine may
        # deliver late: give it more than that, the loop below cuts it off after 1.5 s anyway.
        read_timeout = {"hangs": 0.5, "streams": 2.0}.get(behaviour, TIMEOUT)
        started = time.monotonic()
        try:
            response = self.session.get(
                url,
                params=params,
                stream=True,
                allow_redirects=False,
                timeout=(2, read_timeout),
                headers={"Accept": "application/json"},
            )
        except requests.exceptions.RequestException as error:
            return None, None, b"", f"no answer: {type(error).__name__}", time.monotonic() - started
        headers = tuple(response.headers.get(name) for name in ("Content-Type", "Content-Encoding", "Location"))
        body, note = b"", "complete"
        if response.is_redirect:  # requests has read the body already (to release the connection)
            return response.status_code, headers, response.content, note, time.monotonic() - started
        try:
            while True:
                if len(body) >= READ_AT_MOST or time.monotonic() - started > 1.5:
                    note = "cut"
                    break
                chunk = response.raw.read1(256 * 1024, decode_content=False)
                if not chunk:
                    break
                body += chunk
        except Exception as error:  # noqa: BLE001 -- a broken or stalled body is what some cases are about
            note = f"broken: {type(error).__name__}"
        finally:
            response.close()
        declared = response.headers.get("Content-Length")
        if note == "complete" and declared is not None and int(declared) > len(body):
            note = "broken: short"
        return response.status_code, headers, body[: 64 * 1024], note, time.monotonic() - started

    def test_every_case(self):
        from tests.hostile_peer import CASES

        local = Locals(uids=("abcdef01" * 4, "abcdef02" * 4), admin_id="admin", user_id="alice")
        good: dict = {}
        rss_before = max_rss_mb()
        started = time.monotonic()
        for case in CASES.values():
            with self.subTest(case=case.name):
                self.peer.set_case(case, local)
                self.peer.clear_requests()
                url, params = self.peer.sample_for(case)
                status, headers, prefix, note, took = self.fingerprint(url, params, case.behaviour)
                self.assertLess(took, 6, "the answer took too long")
                self.assertEqual([r.endpoint for r in self.peer.requests], [case.endpoint])
                if case.behaviour in ("hangs", "breaks"):
                    self.assertTrue(status is None or note.startswith("broken"), (status, note))
                    continue
                self.assertIsNotNone(status, note)
                self.assertNotIn(b"HostilePeerBug", prefix)
                if case.behaviour == "streams":
                    self.assertEqual(note, "cut")
                elif note != "cut":
                    self.assertEqual(note, "complete")
                if case.name in AFTER_THE_BODY:
                    continue  # see test_forged_answer_follows_the_body
                key = (url, tuple(params))
                if key not in good:
                    self.peer.set_case(None)
                    good[key] = self.fingerprint(url, params)
                self.assertNotEqual((status, headers, prefix), good[key][:3], "the case does not show at its endpoint")
        self.peer.set_case(None)
        self.assertLess(max_rss_mb() - rss_before, 400, "the server (or this probe) held a huge body")
        self.assertLess(time.monotonic() - started, 50)


class TestHangingAndStopping(unittest.TestCase):
    def test_forged_answer_follows_the_body(self):
        import socket

        with HostilePeer() as peer:
            for name in sorted(AFTER_THE_BODY):
                peer.case = name
                path = urlsplit(peer.sample_for()[0]).path
                with socket.create_connection(("127.0.0.1", peer.port), timeout=TIMEOUT) as connection:
                    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                    wire = b""
                    while b'{"items": []}' not in wire:
                        chunk = connection.recv(65536)
                        self.assertTrue(chunk, name)
                        wire += chunk
                head, _, rest = wire.partition(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                )
                self.assertTrue(rest[length:].startswith(b"HTTP/1.1 200 OK"), name)

    def test_a_hanging_answer_times_the_client_out(self):
        with HostilePeer(hang_seconds=30) as peer:
            peer.case = "hang-listing"
            started = time.monotonic()
            with self.assertRaises(requests.exceptions.ReadTimeout):
                requests.get(*peer.sample_for(), timeout=(2, 0.5))
            self.assertLess(time.monotonic() - started, 2)

    def test_stop_cuts_off_hanging_and_endless_answers(self):
        peer = HostilePeer(hang_seconds=60).start()
        outcomes = []

        def request(case_url):
            try:
                response = requests.get(case_url, timeout=30, stream=True)
                for _chunk in response.iter_content(64 * 1024):
                    pass
                outcomes.append("ended")
            except requests.exceptions.RequestException as error:
                outcomes.append(type(error).__name__)

        peer.case = "hang-site"
        hanging = threading.Thread(target=request, args=(peer.url,))
        hanging.start()
        time.sleep(0.3)
        peer.case = "blob-endless"
        streaming = threading.Thread(target=request, args=(peer.sample_for()[0],))
        streaming.start()
        time.sleep(0.3)
        started = time.monotonic()
        peer.stop()
        hanging.join(5)
        streaming.join(5)
        self.assertLess(time.monotonic() - started, 5)
        self.assertFalse(hanging.is_alive() or streaming.is_alive())
        self.assertEqual(len(outcomes), 2)

    def test_redirect_to_the_alias_carries_no_credentials(self):
        with HostilePeer() as peer:
            peer.case = "download-302-alias"
            url, _params = peer.sample_for()
            response = requests.get(url, auth=("admin", "secret"), timeout=TIMEOUT)
            self.assertEqual(response.status_code, 200)
            first, second = peer.requests
            self.assertEqual((first.origin, first.authorization), ("peer", True))
            self.assertEqual((second.origin, second.authorization), ("alias", False))

    def test_the_backslash_url_passes_an_urlsplit_origin_check_but_goes_to_the_canary(self):
        with HostilePeer() as peer:
            peer.case = "download-backslash-confusion"
            data = requests.get(*peer.sample_for(), timeout=TIMEOUT).json()
            download = data["items"][0]["file"]["download"]
            parts = urlsplit(download)
            self.assertEqual(f"{parts.scheme}://{parts.hostname}:{parts.port}", peer.origin)  # looks like the peer
            requests.get(download, timeout=TIMEOUT)
            self.assertEqual(len(peer.canary_requests), 1)  # ... but the request went elsewhere
