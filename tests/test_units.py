"""Fast tests of the pure functions: no Plone site, no layer."""

import unittest
from datetime import UTC
from datetime import datetime
from types import SimpleNamespace

from BTrees.OOBTree import OOBTree

from senaite_style_sync.actions.jobs import InvalidSince
from senaite_style_sync.actions.jobs import normalise_since
from senaite_style_sync.importers.registry_policy import is_setting
from senaite_style_sync.importers.registry_values import RecordError
from senaite_style_sync.importers.registry_values import from_json
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.state import IndexEntry
from senaite_style_sync.model.state import SyncedEntry
from senaite_style_sync.model.state import SyncState
from senaite_style_sync.peer.errors import PeerError
from senaite_style_sync.peer.listing import UNPLACED
from senaite_style_sync.peer.listing import ListingItem
from senaite_style_sync.peer.listing import pages_by_uid
from senaite_style_sync.peer.listing import with_positions
from senaite_style_sync.services.remotes.base import match
from senaite_style_sync.sync.fetched import content_token
from senaite_style_sync.sync.importing import hold_deletions
from senaite_style_sync.sync.links import LinkConverter
from senaite_style_sync.sync.plan import Plan
from senaite_style_sync.sync.plan import make_plan
from senaite_style_sync.sync.plan import parse_time
from senaite_style_sync.sync.read_ahead import read_chunks
from senaite_style_sync.sync.revision import KEPT_ANCESTORS
from senaite_style_sync.sync.revision import Revision
from senaite_style_sync.sync.revision import merged
from senaite_style_sync.sync.revision import relation
from senaite_style_sync.sync.scope import TypeRules
from senaite_style_sync.sync.scope import build_index


def rules(**settings) -> TypeRules:
    defaults = {
        "full_sync_types": [],
        "skipped_types": [],
        "update_only_types": [],
        "prefixable_types": [],
        "readonly_types": [],
        "remote_prefix": "",
        "local_prefix": "",
    }
    return TypeRules(SimpleNamespace(**(defaults | settings)))


def item(path: str, portal_type: str = "Document", uid: str | None = None, modified: str = "2026-01-01T00:00:00+00:00"):
    return ListingItem(uid or path.replace("/", "-"), path, portal_type, modified, "published", 0)


class TestScope(unittest.TestCase):
    def test_roles_by_type_rules(self):
        r = rules(skipped_types=["Folder"], update_only_types=["Sample"], local_prefix="LAB")
        self.assertEqual(r.role(item("a/doc")), "sync")
        self.assertIsNone(r.role(item("a", "Folder")))
        self.assertEqual(r.role(item("a/LAB-1", "Sample")), "update-only")
        self.assertIsNone(r.role(item("a/OTHER-1", "Sample")))
        self.assertIsNone(rules(full_sync_types=["News Item"]).role(item("doc")))

    def test_local_id_prefixes_only_prefixable_types(self):
        r = rules(prefixable_types=["Sample"], remote_prefix="A")
        self.assertEqual(r.local_id("s1", "Sample"), "A-s1")
        self.assertEqual(r.local_id("d1", "Document"), "d1")

    def test_skipped_containers_of_wanted_objects_come_as_parents(self):
        items = [item("a", "Folder"), item("a/b", "Folder"), item("a/b/doc"), item("c", "Folder")]
        index, paths = build_index(items, rules(skipped_types=["Folder"]))
        self.assertEqual(
            {entry.path: entry.role for entry in index.values()}, {"a": "parent", "a/b": "parent", "a/b/doc": "sync"}
        )
        self.assertEqual(paths["a/b/doc"], "a-b-doc")


class TestListing(unittest.TestCase):
    def test_positions_are_places_among_siblings(self):
        items = [item("f/b"), item("f/a"), item("g/x"), item("f/c")]
        ranks = {"f-a": 7, "f-b": 3, "g-x": 1}  # f/c has no rank: after its siblings
        placed = {i.path: i.position for i in with_positions(items, ranks)}
        self.assertEqual(placed, {"f/b": 0, "f/a": 1, "f/c": 2, "g/x": 0})
        self.assertEqual(item("x").position, 0)
        self.assertEqual(ListingItem("u", "p", "t", "", "").position, UNPLACED)

    def pager(self, pages):
        answers = iter(pages)
        http = SimpleNamespace(get_object=lambda url, params: next(answers))
        return pages_by_uid(http, "http://peer/@search", [], 3)

    def test_pages_start_after_the_last_uid(self):
        pages = [
            {"items": [{"UID": "a"}, {"UID": "b"}, {"UID": "c"}], "items_total": 5},
            {"items": [{"UID": "c"}, {"UID": "d"}, {"UID": "e"}], "items_total": 3},
        ]
        self.assertEqual([i["UID"] for i in self.pager(pages)], ["a", "b", "c", "d", "e"])

    def test_a_short_page_a_repeat_or_a_missing_uid_is_an_error(self):
        for pages in (
            [{"items": [{"UID": "a"}], "items_total": 5}],
            [{"items": [{"UID": "a"}, {"UID": "c"}, {"UID": "b"}], "items_total": 3}],
            [{"items": [], "items_total": "many"}],
        ):
            with self.subTest(pages=pages), self.assertRaises(PeerError):
                list(self.pager(pages))

    def test_an_item_without_a_uid_is_passed_on_for_the_reader_to_leave_out(self):
        pages = [{"items": [{"UID": "a"}, {"@id": "x"}, "junk"], "items_total": 3}]
        self.assertEqual(
            list(self.pager(pages)), [{"UID": "a"}, {"@id": "x"}, {"@id": None, "UID": None, "item": "junk"}]
        )

    def test_read_chunks_start_small(self):
        self.assertEqual([len(c) for c in read_chunks(list(range(100)))], [5, 10, 20, 25, 25, 15])


class TestRevisions(unittest.TestCase):
    def test_a_merge_descends_from_both_sides_recent_history(self):
        local = Revision("L", "here", tuple(f"l{n}" for n in range(KEPT_ANCESTORS)))
        remote = Revision("R", "peer", ("r0", "r1", "r2"))
        settled = merged(local, remote, "here", "print")
        self.assertEqual(len(settled.ancestors), KEPT_ANCESTORS)
        self.assertEqual(settled.ancestors[:6], ("L", "R", "l0", "r0", "l1", "r1"))
        for seen in (local, remote, Revision("r2", "peer"), Revision("l3", "here")):
            self.assertEqual(relation(settled, seen), "behind", seen.id)
        self.assertEqual(relation(settled, Revision("l99", "here")), "diverged")  # older than what is kept


class TestPlan(unittest.TestCase):
    def setUp(self):
        self.state = SyncState()
        self.here: dict[str, object] = {}
        self.edited: set[str] = set()
        self.local = SimpleNamespace(
            find=lambda uid, synced, portal_type=None: self.here.get(synced.local_uid if synced else uid),
            changed_since_sync=lambda obj, synced: obj in self.edited,
        )

    def synced(self, uid, path="doc", modified="1"):
        self.state.index[uid] = IndexEntry(path, "Document", modified, "published", 0, "sync")
        self.state.synced[uid] = SyncedEntry(uid, path, modified, "published", "token", "stamp")
        self.here[uid] = uid

    def test_actions(self):
        self.state.index["new"] = IndexEntry("new", "Document", "1", "published", 0, "sync")
        self.synced("same")
        self.synced("edited-there")
        self.state.index["edited-there"] = self.state.index["edited-there"]._replace(modified="2")
        self.synced("moved")
        self.state.index["moved"] = self.state.index["moved"]._replace(path="elsewhere/moved")
        self.synced("both")
        self.state.index["both"] = self.state.index["both"]._replace(modified="2")
        self.edited.add("both")
        self.synced("gone")
        del self.state.index["gone"]
        self.synced("outside")
        del self.state.index["outside"]
        self.state.outside.insert("outside")
        plan = make_plan(self.state, self.local)
        self.assertEqual(
            (plan.create, plan.update, plan.move, plan.delete, plan.conflicts, plan.release, plan.unchanged),
            (["new"], ["edited-there"], ["moved"], ["gone"], ["both"], ["outside"], 1),
        )
        self.assertEqual(make_plan(self.state, self.local, policy="remote").update, ["both", "edited-there"])

    def test_a_copy_deleted_here_is_read_again_while_its_listed_second_is_recent(self):
        # A peer edit within the second of the last record keeps the listed date: only a
        # re-read tells (the writer compares the content), and only within the overlap window.
        now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
        for uid, modified in (("recent", now), ("old", datetime(2026, 1, 1, tzinfo=UTC))):
            self.synced(uid, path=uid, modified=modified.isoformat())
            del self.here[uid]
        self.state.cursor = now.isoformat()
        plan = make_plan(self.state, self.local)
        self.assertEqual((plan.create, plan.recheck, plan.unchanged), ([], ["recent"], 1))


class TestDeletionLimit(unittest.TestCase):
    def test_deletions_wait_exactly_when_they_exceed_the_share_of_the_scope(self):
        def held(deletes: int, scope: int, limit: int = 10) -> bool:
            record = SimpleNamespace(remote_path="ordner/seite")
            state = SimpleNamespace(synced=OOBTree({f"{number:032x}": record for number in range(scope)}))
            remote = SimpleNamespace(max_delete_percent=limit, state=state)
            plan = Plan(delete=list(state.synced.keys())[:deletes])
            job = Job("src", "update", "test")
            hold_deletions(remote, job, plan)
            return bool(job.pending_deletes) and not plan.delete

        self.assertFalse(held(2, 20))  # 10 % of 20
        self.assertTrue(held(2, 19))
        self.assertFalse(held(3, 25, limit=12))  # 12 % of 25 is exactly 3
        self.assertTrue(held(3, 24, limit=12))
        self.assertFalse(held(20, 20, limit=0))  # no limit
        self.assertFalse(held(0, 5))


class TestText(unittest.TestCase):
    def converter(self):
        uids = {"folder/doc": "U1", "img": "U2", "größe": "U3"}
        return LinkConverter("http://peer/Plone", uids.get, {"R1": "L1"}.get, {400: "preview", 200: "mini"}.get)

    def test_rendered_links_and_scales_become_resolveuid(self):
        links = self.converter()
        html = (
            '<a href="http://peer/Plone/folder/doc#part">x</a> <a href="https://other.org/folder/doc">y</a> '
            '<img src="http://peer/Plone/img/@@images/image-400-0123abcd.png"/> '
            '<img data-scale="mini" src="http://peer/Plone/img/@@images/image-200-99ff.jpeg"/> '
            '<a href="http://peer/Plone/gr%C3%B6%C3%9Fe/@@download/file">z</a> '
            '<a href="http://peer/Plone/not-synced">w</a>'
        )
        self.assertEqual(
            links.html(html),
            '<a href="resolveuid/U1#part">x</a> <a href="https://other.org/folder/doc">y</a> '
            '<img src="resolveuid/U2/@@images/image/preview"/> '
            '<img data-scale="mini" src="resolveuid/U2/@@images/image/mini"/> '
            '<a href="resolveuid/U3/@@download/file">z</a> '
            '<a href="http://peer/Plone/not-synced">w</a>',
        )
        self.assertEqual(links.outside, ["http://peer/Plone/not-synced"])

    def test_a_picture_made_by_the_output_filter_becomes_its_img_again(self):
        html = (
            '<picture><source srcset="http://peer/Plone/img/@@images/image-400-ab.png 400w"/>'
            '<img data-picturevariant="medium" data-scale="preview" loading="lazy" '
            'src="http://peer/Plone/img/@@images/image-400-ab.png"/></picture>'
        )
        self.assertEqual(
            self.converter().html(html),
            '<img data-picturevariant="medium" data-scale="preview" src="resolveuid/U2/@@images/image/preview"/>',
        )

    def test_text_without_the_peers_urls_is_left_as_it_is(self):
        html = "<p>A&nbsp;text  with <b>odd</b>   spacing &lt;b&gt;</p>"
        self.assertEqual(self.converter().html(html), html)

    def test_link_urls_and_stored_text(self):
        links = self.converter()
        self.assertEqual(links.link_url("http://peer/Plone/folder/doc"), "${portal_url}/resolveuid/U1")
        self.assertEqual(links.link_url("https://example.org/"), "https://example.org/")
        self.assertEqual(
            links.stored('<a href="resolveuid/R1">a</a> <a href="resolveuid/R9">b</a>'),
            '<a href="resolveuid/L1">a</a> <a href="resolveuid/R9">b</a>',
        )
        self.assertEqual(links.outside, ["resolveuid/R9"])

    def test_content_token_ignores_order_and_volatile_keys(self):
        one = {"title": "T", "text": {"data": "<p/>"}, "next_item": {"@id": "a"}}
        two = {"text": {"data": "<p/>"}, "title": "T", "next_item": {"@id": "b"}}
        self.assertEqual(content_token(one), content_token(two))
        self.assertNotEqual(content_token(one), content_token(one | {"title": "U"}))

    def test_since(self):
        self.assertEqual(normalise_since("2026-11-20 10:00"), "2026-11-20T10:00:00+00:00")
        self.assertEqual(normalise_since("2026-11-20T12:00+02:00"), "2026-11-20T10:00:00+00:00")
        for bad in ("", "yesterday", "0001-01-01", None):
            with self.subTest(bad=bad), self.assertRaises(InvalidSince):
                normalise_since(bad)
        self.assertEqual(parse_time("2026-01-01T00:00:00"), datetime(2026, 1, 1, tzinfo=UTC))
        self.assertIsNone(parse_time("nope"))


class TestRoutesAndRegistry(unittest.TestCase):
    def test_route_patterns(self):
        self.assertEqual(match("{name}/@conflicts/{uid}", ["lab", "@conflicts", "u1"]), {"name": "lab", "uid": "u1"})
        self.assertEqual(match("", []), {})
        self.assertIsNone(match("{name}", []))
        self.assertIsNone(match("{name}/@fetch", ["lab", "@import"]))

    def test_only_allowed_settings_are_imported(self):
        self.assertFalse(is_setting("plone.smtp_pass"))
        self.assertFalse(is_setting("plone.some_key"))
        self.assertFalse(is_setting("plone.roles_allowed_to_add_keywords"))
        self.assertTrue(is_setting("plone.navigation_depth"))

    def test_json_values_take_the_field_type(self):
        from zope.schema import Int
        from zope.schema import List
        from zope.schema import TextLine

        self.assertEqual(from_json(List(value_type=TextLine()), ["a"]), ["a"])
        self.assertEqual(from_json(Int(), 3.0), 3)
        with self.assertRaises(RecordError):
            from_json(Int(), True)


class TestUntrustedInput(unittest.TestCase):
    def test_only_plain_urls_have_an_origin(self):
        from senaite_style_sync.peer.session import wire_origin

        self.assertEqual(wire_origin("https://Lab.example.org/Plone"), ("https", "lab.example.org", 443))
        for url in (
            "http://127.0.0.1:1\\@127.0.0.1:2/x",  # parsers disagree about the host
            "http://user:pw@lab.example.org/",
            "javascript:alert(1)",
            "http://lab.example.org/a b",
            "file:///etc/passwd",
            None,
            123,
        ):
            with self.subTest(url=url):
                self.assertIsNone(wire_origin(url))

    def test_a_compressed_answer_inflates_within_the_limit(self):
        import gzip
        import zlib

        from senaite_style_sync.peer.session import Inflater

        bomb = gzip.compress(b"\0" * 50_000_000)
        inflate = Inflater("gzip", limit=1_000_000)
        with self.assertRaises(PeerError):
            for start in range(0, len(bomb), 4096):
                inflate(bomb[start : start + 4096])
        small = zlib.compress(b"x" * 1000)
        self.assertEqual(Inflater("deflate", limit=1000)(small), b"x" * 1000)
        with self.assertRaises(PeerError):
            Inflater("br", limit=1000)


class TestActiveHtml(unittest.TestCase):
    def test_what_would_run_in_a_browser(self):
        from senaite_style_sync.sync.active_html import is_active

        for text in (
            "<p>x</p><script>alert(1)</script>",
            '<a href=" JaVa&#x09;script:alert(1)">x</a>',
            '<a href="&#106;avascript:alert(1)">x</a>',
            '<img src="x" OnError="alert(1)"/>',
            '<iframe src="data:text/html,<script>alert(1)</script>"></iframe>',
            '<p style="width: expression(alert(1))">x</p>',
            "<object data='x.swf'></object>",
            '<a href="javascript&colon;alert(1)">x</a>',
            '<a href="java&Tab;script:alert(1)">x</a>',
            '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
        ):
            with self.subTest(text=text):
                self.assertTrue(is_active(text))

    def test_ordinary_rich_text_is_stored_as_served(self):
        from senaite_style_sync.sync.active_html import is_active

        for text in (
            "",
            "plain words, no markup: javascript: is only a word here",
            '<p class="x" style="color: red">a <a href="resolveuid/abc#top">link</a></p>',
            '<img src="data:image/png;base64,iVBORw0KGgo=" alt="dot"/>',
            '<a href="mailto:lab@example.org">mail</a> <table><tr><td>1</td></tr></table>',
        ):
            with self.subTest(text=text):
                self.assertFalse(is_active(text))
