"""Many sites in step (docs/topologies.rst), each recipe with real sites over HTTP.

Bidirectional full sync, a central lab with collaborators, a master with three instances and
a chain laptop → middleman → server. Each converges within two rounds; a round with nothing
changed writes nothing on any site; the independent comparator (tests/comparator.py, plain
plone.restapi) finds no difference between converged sites; a site's own objects pulled back
write nothing; concurrent edits and deletes are one visible conflict per pulling site.
"""

import unittest

import requests
import transaction
from plone import api
from plone.namedfile.file import NamedBlobFile

from senaite_style_sync.actions.conflicts import keep_local
from senaite_style_sync.sync.readonly import is_locked
from tests.comparator import compare_sites
from tests.comparator import format_differences
from tests.rich_corpus import build_rich_corpus
from tests.topology import BOOKKEEPING
from tests.topology import OWNER
from tests.topology import TOPOLOGY_FUNCTIONAL_TESTING
from tests.topology import WRITES
from tests.topology import build_small_corpus
from tests.topology import labs
from tests.topology import last_transaction
from tests.topology import written_classes


class TopologyTestCase(unittest.TestCase):
    layer = TOPOLOGY_FUNCTIONAL_TESTING

    def setUp(self):
        self.labs = labs(self.layer)
        self.a, self.b, self.c, self.d = (self.labs[name] for name in ("plone", "source", "third", "fourth"))

    def round(self, *pulls):
        """Each (lab, remote name) runs Get Updates, in this order; the jobs, checked error-free."""
        jobs = [lab.pull(name) for lab, name in pulls]
        for job in jobs:
            self.assertEqual(list(job.errors), [], f"{job.remote}: {list(job.errors)}")
        return jobs

    def assert_writes_nothing(self, *pulls):
        """A round that must change nothing: no count, no content transaction, only bookkeeping."""
        before = {lab.site_id: lab.serials() for lab in self.labs.values()}
        last = last_transaction(self.layer)
        for job in self.round(*pulls):
            for key in WRITES:
                self.assertFalse(job.counts.get(key), (job.remote, key, dict(job.counts)))
        self.assertEqual({lab.site_id: lab.serials() for lab in self.labs.values()}, before)
        self.assertLessEqual(written_classes(self.layer, last), BOOKKEEPING)

    def assert_same(self, x, y, label: str, path_x: str = "", path_y: str = "") -> None:
        transaction.commit()
        differences = compare_sites(x.url, y.url, OWNER, OWNER, path_a=path_x, path_b=path_y)
        self.assertEqual(differences, [], f"{label} ({x.site_id} / {y.site_id}):\n{format_differences(differences)}")

    def conflicts(self, lab, name: str) -> dict[str, str]:
        return {uid: conflict.reason for uid, conflict in lab.remote(name).state.conflicts.items()}


class BidirectionalTestCase(TopologyTestCase):
    """Two labs, each a Remote of the other with Auto-Sync (the clock only runs these steps)."""

    rich = False

    def setUp(self):
        super().setUp()
        self.a.enter()
        self.corpus = build_rich_corpus(self.a.site)["by_name"] if self.rich else build_small_corpus(self.a.site)
        # A deletion is one object of a few here: above the default deletion limit (10 %).
        settings = {"auto_sync": True, "auto_sync_interval": 5, "max_delete_percent": 0 if not self.rich else 10}
        self.a.add_remote("lab-b", self.b, **settings)
        self.b.add_remote("lab-a", self.a, **settings)
        self.both = ((self.b, "lab-a"), (self.a, "lab-b"))

    def uid(self, name: str) -> str:
        return self.corpus[name].UID()

    def first_sync(self) -> None:
        created = self.b.pull("lab-a")
        self.assertEqual(list(created.errors), [])
        self.assertEqual(created.counts["created"], len(self.corpus))
        before = self.a.serials()
        back = self.a.pull("lab-b")  # A's own objects, back from B
        self.assertEqual(list(back.errors), [])
        for key in WRITES:
            self.assertFalse(back.counts.get(key), (key, dict(back.counts)))
        self.assertEqual(self.a.serials(), before)


class TestBidirectional(BidirectionalTestCase):
    """The rich corpus, changed on both sides."""

    rich = True

    def test_edits_moves_and_new_objects_on_both_sides_converge_and_then_rest(self):
        self.first_sync()
        self.assert_same(self.a, self.b, "after the first sync")
        self.a.edit(self.uid("seite-1"), "Seite 1 (A)")
        self.a.edit(self.uid("berlin"), "Berlin (A)")
        self.b.edit(self.uid("meldung-1"), "Meldung 1 (B)")
        self.b.enter()
        with api.env.adopt_roles(["Manager"]):
            api.content.move(source=self.b.find(self.uid("seiten")), target=self.b.find(self.uid("archiv")))
            api.content.create(self.b.find(self.uid("medien")), "Document", id="von-b", title="Von B")
        self.a.enter()
        with api.env.adopt_roles(["Manager"]):
            new = api.content.create(self.a.find(self.uid("medien")), "File", id="von-a", title="Von A")
            new.file = NamedBlobFile(data=b"A" * 5000, filename="von-a.bin", contentType="application/octet-stream")
            new.reindexObject()
        transaction.commit()
        self.round(*self.both)
        self.round(*self.both)
        self.assert_same(self.a, self.b, "after two rounds")
        self.assert_writes_nothing(*self.both)


class TestBidirectionalConflicts(BidirectionalTestCase):
    """Concurrent edits and deletions between two labs, on a few objects."""

    def test_concurrent_edits_are_one_conflict_on_each_site_and_one_decision_settles_both(self):
        self.first_sync()
        uid = self.uid("seite-1")
        self.a.edit(uid, "Seite 1 as A has it")
        self.b.edit(uid, "Seite 1 as B has it")
        self.round(*self.both)
        self.assertEqual(self.conflicts(self.b, "lab-a"), {uid: "changed here and on the peer"})
        self.assertEqual(self.conflicts(self.a, "lab-b"), {uid: "changed here and on the peer"})
        self.assertEqual(self.a.find(uid).title, "Seite 1 as A has it")  # nothing lost either side
        self.assertEqual(self.b.find(uid).title, "Seite 1 as B has it")
        detected = {lab.site_id: lab.remote(name).state.conflicts[uid].detected for lab, name in self.both}

        self.round(*self.both)  # nothing new: the same two conflicts, nothing written
        self.assertEqual(
            {lab.site_id: lab.remote(name).state.conflicts[uid].detected for lab, name in self.both}, detected
        )

        site = self.a.enter()
        keep_local(site, self.a.remote("lab-b"), uid, self.layer["request"])  # A's version wins
        transaction.commit()
        self.round(*self.both)
        self.assertEqual(self.conflicts(self.b, "lab-a"), {})
        self.assertEqual(self.conflicts(self.a, "lab-b"), {})
        self.assertEqual(self.b.find(uid).title, "Seite 1 as A has it")
        self.assert_same(self.a, self.b, "after the decision")
        self.assert_writes_nothing(*self.both)

    def test_a_conflict_merged_field_by_field_settles_both_sites(self):
        self.first_sync()
        uid = self.uid("seite-1")
        self.a.enter()
        obj = self.a.find(uid)
        obj.title, obj.description = "Title from A", "Description from A"
        obj.reindexObject()
        self.b.edit(uid, "Title from B")
        self.round(*self.both)
        self.assertEqual(self.conflicts(self.a, "lab-b"), {uid: "changed here and on the peer"})
        url = f"{self.a.url}/@sync-remotes/lab-b/@conflicts/{uid}"
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        refused = requests.post(
            url, json={"take": "fields", "fields": ["image"]}, auth=OWNER, headers=headers, timeout=30
        )
        self.assertEqual(refused.status_code, 400, refused.text)
        self.assertIn("fields", refused.json()["error"]["errors"])
        taken = requests.post(
            url, json={"take": "fields", "fields": ["title"]}, auth=OWNER, headers=headers, timeout=30
        )
        self.assertEqual(taken.status_code, 200, taken.text)
        transaction.begin()
        self.assertEqual((self.a.find(uid).title, self.a.find(uid).description), ("Title from B", "Description from A"))
        self.round(*self.both)
        self.assertEqual(self.conflicts(self.a, "lab-b"), {})
        self.assertEqual(self.conflicts(self.b, "lab-a"), {})
        merged = self.b.find(uid)
        self.assertEqual((merged.title, merged.description), ("Title from B", "Description from A"))
        self.assert_same(self.a, self.b, "after the merge")
        self.assert_writes_nothing(*self.both)

    def test_a_deletion_meeting_an_edit_is_one_conflict_on_each_site(self):
        self.first_sync()
        uid = self.uid("meldung-1")
        self.a.delete(uid)
        self.b.edit(uid, "Meldung 1, edited on B")
        self.round(*self.both)
        self.assertEqual(self.conflicts(self.b, "lab-a"), {uid: "deleted on the peer, changed here"})
        self.assertEqual(self.conflicts(self.a, "lab-b"), {uid: "deleted here, changed on the peer"})
        self.assertIsNone(self.a.find(uid))  # not silently brought back
        self.assertEqual(self.b.find(uid).title, "Meldung 1, edited on B")  # not silently deleted

    def test_a_deletion_is_not_brought_back_by_a_peer_that_still_has_it(self):
        self.first_sync()
        uid = self.uid("meldung-1")
        self.a.delete(uid)
        job = self.a.pull("lab-b")  # B still has it, unchanged
        self.assertFalse(job.counts.get("created"), dict(job.counts))
        self.assertIsNone(self.a.find(uid))
        self.assertEqual(self.b.pull("lab-a").counts.get("deleted"), 1)
        self.assertIsNone(self.b.find(uid))
        self.round(*self.both)
        self.assert_same(self.a, self.b, "after the deletion")
        self.assert_writes_nothing(*self.both)


class TestCentralLab(TopologyTestCase):
    """Central lab M (plone) with collaborators A (source) and B (third).

    On M one Remote per collaborator with its own Remote's Prefix, Documents (the samples)
    prefixable, News Items (M's own announcements) skipped; on each collaborator one Remote to
    M with its Local Prefix, Documents update-only, News Items read-only, Folders skipped.
    """

    def setUp(self):
        super().setUp()
        self.m, self.lab_a, self.lab_b = self.a, self.b, self.c
        self.samples = {}
        for lab, folder in ((self.lab_a, "lab-a"), (self.lab_b, "lab-b")):
            site = lab.enter()
            with api.env.adopt_roles(["Manager"]):
                container = api.content.create(site, "Folder", id=folder, title=folder)
                for n in (1, 2):
                    sample = api.content.create(container, "Document", id=f"sample-{n}", title=f"Sample {n}")
                    self.samples[(lab.site_id, n)] = sample.UID()
        site = self.m.enter()
        with api.env.adopt_roles(["Manager"]):
            news = api.content.create(site, "Folder", id="news", title="News")
            self.announcement = api.content.create(news, "News Item", id="meeting", title="Meeting").UID()
        transaction.commit()
        m_rules = {"prefixable_types": ["Document"], "skipped_types": ["News Item"]}
        self.m.add_remote("lab-a", self.lab_a, remote_prefix="A", **m_rules)
        self.m.add_remote("lab-b", self.lab_b, remote_prefix="B", **m_rules)
        for lab, prefix in ((self.lab_a, "A"), (self.lab_b, "B")):
            lab.add_remote(
                "central",
                self.m,
                local_prefix=prefix,
                update_only_types=["Document"],
                readonly_types=["News Item"],
                skipped_types=["Folder"],
            )
        self.all = ((self.m, "lab-a"), (self.m, "lab-b"), (self.lab_a, "central"), (self.lab_b, "central"))

    def test_an_edit_on_m_goes_back_only_to_the_lab_that_made_the_sample(self):
        self.round(*self.all)
        uid = self.samples[("source", 1)]
        self.assertEqual(self.m.find(uid).getId(), "A-sample-1")
        self.assertEqual(self.m.find(self.samples[("third", 1)]).getId(), "B-sample-1")
        news = self.lab_a.find(self.announcement)
        self.assertTrue(is_locked(news))  # M's own type: read-only on the collaborators
        self.assertIsNone(self.lab_a.find(self.samples[("third", 1)]))  # B's samples stay B's
        self.assert_writes_nothing(*self.all)

        self.m.edit(uid, "Sample 1, checked by M")
        jobs = self.round(*self.all)
        self.assertEqual([job.counts.get("updated", 0) for job in jobs], [0, 0, 1, 0])
        self.assertEqual(self.lab_a.find(uid).title, "Sample 1, checked by M")
        self.assertEqual(self.lab_a.find(uid).getId(), "sample-1")  # its own id, in its own folder
        self.assertEqual(self.lab_b.find(uid), None)
        self.assert_writes_nothing(*self.all)
        # The copy on M and the original on A hold the same version (ids differ by the prefix).
        self.assertEqual(self.m.find(uid).title, self.lab_a.find(uid).title)
        # plone.restapi serves dates to the second: a copy has its original's date to the second.
        self.assertEqual(int(self.m.find(uid).modified().timeTime()), int(self.lab_a.find(uid).modified().timeTime()))


class TestMasterWithThreeInstances(TopologyTestCase):
    """A is the master: B, C and D each pull only from A; A pulls from all three."""

    def setUp(self):
        super().setUp()
        self.a.enter()
        self.corpus = build_small_corpus(self.a.site)
        with api.env.adopt_roles(["Manager"]):
            # Nothing points at it: deleting it changes nothing else (a deleted link target
            # changes the objects that point at it, a change of its own).
            self.leaf = api.content.create(self.a.site, "Document", id="leaf", title="Leaf").UID()
        self.instances = (self.b, self.c, self.d)
        for lab in self.instances:  # a deletion is one object of a few: no deletion limit
            self.a.add_remote(lab.site_id, lab, max_delete_percent=0)
            lab.add_remote("master", self.a, max_delete_percent=0)
        self.pulls = (
            *((self.a, lab.site_id) for lab in self.instances),
            *((lab, "master") for lab in self.instances),
        )

    def test_changes_anywhere_reach_every_instance_within_two_rounds(self):
        self.round(*self.pulls)
        self.round(*self.pulls)  # the master learns what each instance holds (see docs/topologies.rst)
        for lab in self.instances:
            self.assert_same(self.a, lab, "after the first round")
        self.a.edit(self.corpus["seite-1"].UID(), "Seite 1 (master)")
        for lab in self.instances:
            site = lab.enter()
            with api.env.adopt_roles(["Manager"]):
                api.content.create(site, "Document", id=f"from-{lab.site_id}", title=f"From {lab.site_id}")
            transaction.commit()
        self.c.edit(self.corpus["meldung-1"].UID(), "Meldung 1 (C)")
        self.d.delete(self.leaf)
        self.round(*self.pulls)
        self.round(*self.pulls)
        for lab in self.instances:
            self.assert_same(self.a, lab, "after two rounds")
        self.assert_writes_nothing(*self.pulls)


class TestChain(TopologyTestCase):
    """Field laptop A → middleman B → server C: UIDs, dates, history and blobs travel unchanged."""

    def setUp(self):
        super().setUp()
        self.a.enter()
        self.corpus = build_rich_corpus(self.a.site)["by_name"]
        transaction.commit()
        self.b.add_remote("laptop", self.a)
        self.c.add_remote("middleman", self.b)
        self.chain = ((self.b, "laptop"), (self.c, "middleman"))

    def test_each_hop_keeps_everything_and_writes_only_what_changed(self):
        self.round(*self.chain)
        self.assert_same(self.a, self.c, "laptop and server")
        uid = self.corpus["seite-1"].UID()
        self.a.edit(uid, "Seite 1, edited in the field")
        jobs = self.round(*self.chain)
        self.assertEqual([job.counts.get("updated", 0) for job in jobs], [1, 1])
        self.assertEqual(self.c.find(uid).title, "Seite 1, edited in the field")
        self.assert_same(self.a, self.c, "after an edit in the field")
        self.assert_writes_nothing(*self.chain)
