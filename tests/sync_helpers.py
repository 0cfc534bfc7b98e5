"""Shared set-up for tests that sync the ``source`` site into ``plone`` over HTTP."""

import hashlib
import unittest

import transaction
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from zope.component.hooks import setSite

from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.jobs.steps import run_step
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.sync.readonly import sync_writes
from senaite_style_sync.testing import SOURCE_SITE_ID
from senaite_style_sync.testing import SYNC_FUNCTIONAL_TESTING


def checksum(blob) -> str:
    return hashlib.sha256(blob.data).hexdigest()


class SyncTestCase(unittest.TestCase):
    layer = SYNC_FUNCTIONAL_TESTING

    def setUp(self):
        self.app = self.layer["app"]
        self.portal = self.layer["portal"]
        self.source = self.app[SOURCE_SITE_ID]
        self.source_url = f"http://{self.layer['host']}:{self.layer['port']}/{SOURCE_SITE_ID}"

    def make_source_stock(self):
        """Take the add-on's browser layer off ``source``: it serves plone.restapi only, like a
        peer without the add-on (the functional layer undoes this after the test)."""
        from plone.browserlayer.utils import unregister_layer

        setSite(self.source)
        unregister_layer("senaite_style_sync")
        transaction.commit()

    def on_source(self):
        setSite(self.source)
        return self.source

    def on_portal(self):
        setSite(self.portal)
        return self.portal

    @staticmethod
    def find(site, uid):
        """The object with ``uid`` in ``site``'s own catalog (None if absent)."""
        paths = [
            b
            for b in site.portal_catalog.unrestrictedSearchResults(UID=uid)
            if b.getPath().startswith("/".join(site.getPhysicalPath()) + "/")
        ]
        return paths[0]._unrestrictedGetObject() if paths else None

    def make_remote(self, name="src", **settings):
        self.on_portal()
        create_remote(
            self.portal,
            {"name": name, "url": self.source_url, "username": SITE_OWNER_NAME, "password": SITE_OWNER_PASSWORD}
            | settings,
        )
        transaction.commit()
        return RemoteStorage(self.portal).get(name)

    def run_step(self, step, name="src", since="", confirms=""):
        """Run a step in this thread, exactly as its job thread would; returns the finished job."""
        transaction.commit()
        self.on_portal()
        remote = RemoteStorage(self.portal).get(name)
        job = Job(name, step, "test", since, confirms)
        JobStore(self.portal).add(job)
        transaction.commit()
        with sync_writes():  # as the job's system user may move and delete read-only copies
            run_step(self.portal, remote, job)
        job.state = "done"
        transaction.commit()
        return job
