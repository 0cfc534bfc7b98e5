"""The comparator itself: nothing between identical sites, and each injected difference in its category.

The same seeded corpus is built on ``source`` and on ``plone``: both get the same UIDs, ids, fields,
texts, blobs, relations, histories, local roles, order and dates, so the two sites are a faithful
copy of each other without the sync engine. Each test then changes one thing on ``plone``.
"""

from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import transaction
from DateTime import DateTime
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from plone.app.textfield.value import RichTextValue
from plone.namedfile.file import NamedBlobFile
from z3c.relationfield import RelationValue
from z3c.relationfield.event import updateRelations
from zope.component import getUtility
from zope.intid.interfaces import IIntIds

from tests import comparator
from tests.comparator import Difference
from tests.comparator import Site
from tests.comparator import compare_sites
from tests.comparator import format_differences
from tests.comparator import summarize
from tests.rich_corpus import build_rich_corpus
from tests.sync_helpers import SyncTestCase


AUTH = (SITE_OWNER_NAME, SITE_OWNER_PASSWORD)


class ComparatorTestCase(SyncTestCase):
    def setUp(self):
        super().setUp()
        self.plone_url = f"http://{self.layer['host']}:{self.layer['port']}/plone"

    def build_source(self) -> dict:
        self.on_source()
        corpus = build_rich_corpus(self.source)
        transaction.commit()
        return corpus

    def build_both(self) -> None:
        self.build_source()
        self.on_portal()
        self.copy = build_rich_corpus(self.portal)
        transaction.commit()

    def compare(self, **paths) -> list[Difference]:
        return compare_sites(self.source_url, self.plone_url, AUTH, AUTH, **paths)

    @contextmanager
    def inject(self):
        """Change the copy on ``plone``; the modification dates of all its objects are kept."""
        self.on_portal()
        kept = {o.UID(): o.modification_date for o in self.copy["objects"]}
        with api.env.adopt_user(username=SITE_OWNER_NAME), api.env.adopt_roles(["Manager"]):
            yield self.copy["by_name"]
            for uid, modified in kept.items():
                obj = self.find(self.portal, uid)
                if obj is not None and obj.modification_date != modified:
                    obj.modification_date = modified
                    obj.reindexObject(idxs=["modified"])
        transaction.commit()

    def assertOnly(self, differences: list[Difference], *expected: tuple) -> None:
        """``differences`` are exactly the (object, category) pairs ``expected``, each detail naming its key."""
        self.assertEqual(
            {(d.uid, d.category) for d in differences},
            {(o.UID(), c) for o, c, _ in expected},
            format_differences(differences),
        )
        keys = {(o.UID(), c): key for o, c, key in expected}
        for difference in differences:
            self.assertIn(keys[difference.uid, difference.category], difference.detail)


class TestIdentical(ComparatorTestCase):
    def test_a_site_compared_with_itself_has_no_differences(self):
        corpus = self.build_source()
        with mock.patch.object(comparator, "PAGE", 7):  # paging through 11 pages of the listing
            differences = compare_sites(self.source_url, self.source_url, AUTH, AUTH)
            listing = Site(self.source_url, AUTH, "").listing()
        self.assertEqual(differences, [], format_differences(differences))
        self.assertEqual(set(listing), {o.UID() for o in corpus["objects"]})
        self.assertGreaterEqual(len(corpus["objects"]), 60)

    def test_two_sites_with_the_same_corpus_have_no_differences(self):
        self.build_both()
        differences = self.compare()
        self.assertEqual(differences, [], format_differences(differences))
        self.assertEqual(summarize(differences), {})

    def test_subtrees_are_compared_relative_to_their_roots(self):
        self.build_both()
        self.assertEqual(self.compare(path_a="archiv", path_b="archiv"), [])
        with self.inject() as objects:
            elsewhere = api.content.create(self.portal, "Folder", id="anderswo", title="Anderswo")
            api.content.move(objects["jahr-2024"], elsewhere)
        self.assertEqual(summarize(self.compare(path_a="archiv", path_b="archiv")), {"missing": 9})
        differences = self.compare(path_a="archiv/jahr-2024", path_b="anderswo/jahr-2024")
        self.assertEqual(differences, [], format_differences(differences))

    def test_scale_hashes_are_ignored_but_not_scale_widths(self):
        site = Site(self.source_url, AUTH, "medien")
        url = f"{self.source_url}/medien/bild/@@images/image-400-0123456789abcdef0123456789abcdef.png"
        self.assertEqual(site.normalize(url), "{root}/bild/@@images/image-400-HASH.png")
        self.assertEqual(site.normalize(url), site.normalize(url.replace("0123456789abcdef", "fedcba9876543210")))
        self.assertNotEqual(site.normalize(url), site.normalize(url.replace("image-400-", "image-0-")))
        self.assertEqual(site.normalize(f'<a href="{self.source_url}/seiten">'), '<a href="{site}/seiten">')
        self.assertEqual(site.normalize(f"{self.source_url}-other/x"), f"{self.source_url}-other/x")

    def test_summary_and_format(self):
        differences = [
            Difference("u1", "a/b", "fields", "title: 'x' != 'y'"),
            Difference("u2", "", "order", "…"),
            Difference("u3", "c", "fields", "description: …"),
        ]
        self.assertEqual(summarize(differences), {"fields": 2, "order": 1})
        text = format_differences(differences)
        self.assertEqual(text.splitlines()[0], "[fields] a/b (u1): title: 'x' != 'y'")
        self.assertIn("3 differences", text.splitlines()[-1])


class TestInjectedDifferences(ComparatorTestCase):
    """One test per category: each change on the copy is reported in its category, and nothing else."""

    def setUp(self):
        super().setUp()
        self.build_both()

    def test_missing(self):
        with self.inject() as objects:
            api.content.delete(objects["c-3"], check_linkintegrity=False)
        self.assertOnly(self.compare(), (objects["c-3"], "missing", "not on b"))

    def test_extra(self):
        with self.inject() as objects:
            extra = api.content.create(
                objects["links"], "Link", id="neu", title="Neu", remoteUrl="https://example.org/neu"
            )
        self.assertOnly(self.compare(), (extra, "extra", "only on b"))

    def test_path(self):
        with self.inject() as objects:
            api.content.rename(objects["extern-3"], "extern-drei")
            api.content.move(objects["extern-2"], objects["seiten"])
        self.assertOnly(
            self.compare(),
            (objects["extern-3"], "path", "links/extern-drei"),
            (objects["extern-2"], "path", "seiten/extern-2"),
        )

    def test_fields(self):
        with self.inject() as objects:
            objects["seite-7"].description = "Anders"
            objects["seite-7"].reindexObject(idxs=["Description"])
            objects["lima"].start = objects["lima"].start + timedelta(minutes=30)
        self.assertOnly(
            self.compare(), (objects["seite-7"], "fields", "description"), (objects["lima"], "fields", "start")
        )

    def test_text(self):
        with self.inject() as objects:
            images, links = objects["seite-2"], objects["seite-1"]
            images.text = RichTextValue(
                images.text.raw.replace("@@images/image/preview", "@@images/image/mini", 1),
                "text/html",
                "text/x-html-safe",
            )
            links.text = RichTextValue(
                links.text.raw.replace(objects["seite-2"].UID(), objects["seite-4"].UID()),
                "text/html",
                "text/x-html-safe",
            )
        self.assertOnly(self.compare(), (images, "text", "image-200-HASH"), (links, "text", "seite-4"))

    def test_links(self):
        with self.inject() as objects:
            objects["intern-2"].remoteUrl = f"${{portal_url}}/resolveuid/{objects['groesse-text'].UID()}"
        self.assertOnly(self.compare(), (objects["intern-2"], "links", "{site}/medien/groesse-text"))

    def test_relations(self):
        with self.inject() as objects:
            page = objects["seite-2"]
            page.relatedItems = [RelationValue(getUtility(IIntIds).getId(objects["seite-3"]))]
            updateRelations(page, None)
        self.assertOnly(self.compare(), (page, "relations", objects["seite-3"].UID()))

    def test_blobs(self):
        with self.inject() as objects:
            old = objects["daten-10k"].file
            objects["daten-10k"].file = NamedBlobFile(
                bytes(len(old.data)), filename=old.filename, contentType=old.contentType
            )  # same size and name
            objects["bild-400x300"].image.filename = "anders.png"
        self.assertOnly(
            self.compare(), (objects["daten-10k"], "blobs", "sha256"), (objects["bild-400x300"], "blobs", "anders.png")
        )

    def test_workflow(self):
        with self.inject() as objects:
            history = objects["links"].workflow_history
            wf_id = next(iter(history))
            history[wf_id] = history[wf_id][:-1] + (dict(history[wf_id][-1], comments="anders"),)
            api.content.transition(objects["seite-1"], "retract")
        self.assertOnly(
            self.compare(), (objects["links"], "workflow", "history[1]"), (objects["seite-1"], "workflow", "")
        )

    def test_order(self):
        with self.inject() as objects:
            objects["sortiert"].moveObjectsToTop(["c-4"])
        self.assertOnly(self.compare(), (objects["c-4"], "order", "sortiert"))

    def test_default_page(self):
        with self.inject() as objects:
            objects["ueber-uns"].setDefaultPage("team")
        self.assertOnly(self.compare(), (objects["ueber-uns"], "default_page", objects["team"].UID()))

    def test_layout(self):
        with self.inject() as objects:
            objects["seiten"].setLayout("tabular_view")
        self.assertOnly(self.compare(), (objects["seiten"], "layout", "tabular_view"))

    def test_sharing(self):
        with self.inject() as objects:
            objects["seiten"].manage_setLocalRoles("editor", ["Contributor"])
            objects["seiten"].reindexObjectSecurity()
            objects["nachrichten"].__ac_local_roles_block__ = True
            objects["nachrichten"].reindexObjectSecurity()
        self.assertOnly(
            self.compare(),
            (objects["seiten"], "sharing", "Contributor"),
            (objects["nachrichten"], "sharing", "inherit"),
        )

    def test_dates(self):
        with self.inject() as objects:
            objects["zukunft"].effective_date = DateTime("2099/01/01 12:00:01 America/Lima")
            objects["zukunft"].reindexObject(idxs=["effective", "effectiveRange"])
        self.on_portal()
        page = objects["seite-9"]  # after inject(), which keeps modification dates
        page.modification_date = page.modification_date + 1
        page.reindexObject(idxs=["modified"])
        transaction.commit()
        differences = self.compare()
        self.assertOnly(differences, (objects["zukunft"], "dates", "effective"), (page, "dates", "modified"))
        self.assertEqual(len(differences), 3, format_differences(differences))  # seite-9: object and catalog
