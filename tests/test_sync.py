"""Fetch, Import and Get Updates between two real Plone sites over HTTP."""

import transaction
from plone import api

from senaite_style_sync.engine.local import iso
from tests.corpus import build_corpus
from tests.sync_helpers import checksum
from tests.sync_helpers import SyncTestCase


def relative(site, obj) -> str:
    return "/".join(obj.getPhysicalPath()[len(site.getPhysicalPath()) :])


class TestImport(SyncTestCase):
    def test_fetch_plans_then_import_copies_faithfully(self):
        self.on_source()
        originals = build_corpus(self.source, 40)
        transaction.commit()
        self.make_remote()
        fetched = self.run_step("fetch")
        self.assertEqual(fetched.errors, [], fetched.errors)
        self.assertEqual(fetched.plan["create"], 40)
        self.assertEqual(len(list(api.content.find(context=self.portal, portal_type="Document"))), 0)

        job = self.run_step("import")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(job.counts.get("created"), 40)
        self.on_portal()
        for original in originals:
            with self.subTest(path=relative(self.source, original)):
                copy = api.content.get(UID=original.UID())
                self.assertIsNotNone(copy)
                self.assertEqual(relative(self.portal, copy), relative(self.source, original))
                self.assertEqual(copy.portal_type, original.portal_type)
                self.assertEqual(copy.title, original.title)
                self.assertEqual(api.content.get_state(copy, None), api.content.get_state(original, None), dict(copy.workflow_history))
                self.assertEqual(iso(copy.created()), iso(original.created()))
                self.assertEqual(iso(copy.modified()), iso(original.modified()))
                self.assertEqual(iso(copy.effective()), iso(original.effective()))
                self.assertEqual(copy.creators, original.creators)
                self.assertEqual(copy.Subject(), original.Subject())
                self.assertEqual(copy.Language(), original.Language())
                self.assertEqual(copy.getLayout(), original.getLayout())
                if original.portal_type == "File":
                    self.assertEqual(checksum(copy.file), checksum(original.file))
                    self.assertEqual(copy.file.filename, original.file.filename)
                if original.portal_type == "News Item":
                    self.assertEqual(checksum(copy.image), checksum(original.image))
                if original.portal_type == "Document":
                    self.assertIn("resolveuid/", copy.text.raw)
                    self.assertIn("&lt;b&gt;", copy.text.raw)
                if original.portal_type == "Event":
                    self.assertEqual(copy.start, original.start)
                    self.assertEqual(copy.end, original.end)
                history = [e["review_state"] for e in original.workflow_history.get("simple_publication_workflow", ())]
                if history:
                    copied = [e["review_state"] for e in copy.workflow_history["simple_publication_workflow"]]
                    self.assertEqual(copied, history)
                if original.isPrincipiaFolderish:
                    self.assertEqual(list(copy.objectIds()), list(original.objectIds()))
                    self.assertEqual(
                        getattr(copy.aq_base, "default_page", None), getattr(original.aq_base, "default_page", None)
                    )
                self.assertEqual(
                    {p: set(r) for p, r in copy.get_local_roles()}, {p: set(r) for p, r in original.get_local_roles()}
                )
        pages = [o for o in originals if o.portal_type == "Document"]
        copy = api.content.get(UID=pages[0].UID())
        self.assertEqual([r.to_object.UID() for r in copy.relatedItems], [pages[1].UID()])
