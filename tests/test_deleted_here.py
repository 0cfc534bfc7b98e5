"""A copy deleted here stays deleted unless the peer changes it afterwards (then: a conflict).

With this add-on on the peer, its revisions are judged against the tombstone; with a stock
peer, its JSON against what was written last.
"""

import transaction
from plone import api

from senaite_style_sync.actions.conflicts import keep_local
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.model.tombstones import Tombstones
from tests.corpus import build_corpus
from tests.sync_helpers import SyncTestCase


class TestDeletedHereFromAddonPeer(SyncTestCase):
    stock_peer = False

    def setUp(self):
        super().setUp()
        if self.stock_peer:
            self.make_source_stock()
        self.on_source()
        originals = build_corpus(self.source, 12)
        self.uid = next(obj.UID() for obj in originals if obj.portal_type == "Document")
        transaction.commit()
        self.make_remote(max_delete_percent=0)
        self.run_step("fetch")
        self.assertEqual(list(self.run_step("import").errors), [])

    def edit_on_peer(self, title):
        self.on_source()
        obj = self.find(self.source, self.uid)
        obj.title = title
        obj.reindexObject()
        transaction.commit()

    def conflicts(self):
        transaction.begin()
        return {uid: c.reason for uid, c in RemoteStorage(self.portal).get("src").state.conflicts.items()}

    def test_stays_deleted_until_the_peer_changes_it_then_a_decision(self):
        self.on_portal()
        with api.env.adopt_roles(["Manager"]):
            api.content.delete(obj=self.find(self.portal, self.uid), check_linkintegrity=False)
        transaction.commit()
        self.assertIsNotNone(Tombstones(self.portal).get(self.uid))

        job = self.run_step("update")  # the peer still has the version deleted here
        self.assertFalse(job.counts.get("created"), dict(job.counts))
        self.assertIsNone(self.find(self.portal, self.uid))
        self.assertEqual(self.conflicts(), {})

        self.edit_on_peer("Changed on the peer after the deletion")
        job = self.run_step("update")
        self.assertEqual(job.counts.get("conflicts"), 1, dict(job.counts))
        self.assertEqual(self.conflicts(), {self.uid: "deleted here, changed on the peer"})
        self.assertIsNone(self.find(self.portal, self.uid))

        self.on_portal()
        keep_local(self.portal, RemoteStorage(self.portal).get("src"), self.uid, self.layer["request"])
        transaction.commit()
        job = self.run_step("update")  # kept deleted: that version of the peer is settled
        self.assertFalse(job.counts.get("conflicts"), dict(job.counts))
        self.assertFalse(job.counts.get("created"), dict(job.counts))
        self.assertIsNone(self.find(self.portal, self.uid))

        self.edit_on_peer("Changed once more")
        self.run_step("update")
        self.assertEqual(self.conflicts(), {self.uid: "deleted here, changed on the peer"})
        self.on_portal()
        RemoteStorage(self.portal).get("src").state.resolutions[self.uid] = "remote"  # as Take the remote version
        transaction.commit()
        job = self.run_step("import")
        self.assertEqual(job.counts.get("created"), 1, dict(job.counts))
        transaction.begin()
        self.assertEqual(self.find(self.portal, self.uid).title, "Changed once more")  # the same UID, back
        self.assertEqual(self.conflicts(), {})
        self.assertIsNone(Tombstones(self.portal).get(self.uid))


class TestDeletedHereFromStockPeer(TestDeletedHereFromAddonPeer):
    stock_peer = True
