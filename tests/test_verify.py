"""Verify finds every way a copy differs from its original, and Repair writes just those copies again."""

import transaction
from DateTime import DateTime
from plone import api
from plone.namedfile.file import NamedBlobFile

from tests.comparator import compare_sites
from tests.comparator import format_differences
from tests.test_faithful import OWNER
from tests.test_faithful import FaithfulTestCase


class TestVerifyAndRepair(FaithfulTestCase):
    def differences(self, job) -> set[tuple[str, str]]:
        return {(difference["uid"], difference["category"]) for difference in job.differences}

    def copy(self, name):
        return self.find(self.portal, self.named(name).UID())

    def test_a_faithful_copy_has_no_differences_and_each_injected_one_is_found_and_repaired(self):
        self.run_step("fetch")
        self.run_step("import")
        job = self.run_step("verify")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(list(job.differences), [])
        self.assertGreater(job.total, 60)

        self.on_portal()
        injected = {}
        with api.env.adopt_roles(["Manager"]):
            copy = self.copy("seite-1")
            copy.description = "Hier anders"
            injected[copy.UID()] = "fields"
            copy = self.copy("seite-2")
            copy.text = type(copy.text)("<p>Anderer Text</p>", "text/html", "text/x-html-safe")
            injected[copy.UID()] = "text"
            largest = max(self.corpus["by_role"]["file"], key=lambda obj: obj.file.getSize())
            copy = self.find(self.portal, largest.UID())
            size = copy.file.getSize()
            copy.file = NamedBlobFile(b"x" * size, filename=copy.file.filename, contentType=copy.file.contentType)
            injected[copy.UID()] = "blobs"
            copy = self.copy("meldung-2")
            state = api.content.get_state(copy)
            api.content.transition(obj=copy, transition="retract" if state == "published" else "publish")
            injected[copy.UID()] = "workflow"
            copy = self.copy("medien")
            copy.setLayout("folder_listing")
            injected[copy.UID()] = "layout"
            copy = self.copy("intranet")
            copy.manage_setLocalRoles("siteadmin", ["Editor"])
            injected[copy.UID()] = "local_roles"
            copy = self.copy("zukunft")
            copy.effective_date = DateTime("2030/01/01 00:00 UTC")
            injected[copy.UID()] = "dates"
            copy = self.copy("ueber-uns")
            copy.setDefaultPage(None)
            injected[copy.UID()] = "default_page"
            sortiert = self.copy("sortiert")
            last = sortiert.objectIds()[-1]
            sortiert.moveObjectsToTop([last])
            injected[sortiert[last].UID()] = "position"
            related = [obj for obj in self.corpus["objects"] if getattr(obj, "relatedItems", None)][0]
            copy = self.find(self.portal, related.UID())
            copy.relatedItems = []
            injected[copy.UID()] = "relations"
            copy = self.copy("abgelaufen")
            api.content.rename(obj=copy, new_id="abgelaufen-hier")
            injected[copy.UID()] = "path"
            missing = self.copy("a~b,c (d)")
            injected[missing.UID()] = "missing"
            api.content.delete(obj=missing, check_linkintegrity=False)
        transaction.commit()

        job = self.run_step("verify")
        self.assertEqual(list(job.errors), [])
        found = self.differences(job)
        for uid, category in injected.items():
            with self.subTest(category=category):
                self.assertIn((uid, category), found, sorted(found))

        repair = self.run_step("repair", confirms=job.id)
        self.assertEqual(list(repair.errors), [])
        again = self.run_step("verify")
        self.assertEqual([(d["object"], d["category"], d["detail"]) for d in again.differences], [])
        differences = compare_sites(self.source_url, self.plone_url, OWNER, OWNER)
        self.assertEqual(differences, [], format_differences(differences))
