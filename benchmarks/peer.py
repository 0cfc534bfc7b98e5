"""The benchmark's peer: Plone sites served over HTTP by a process of their own, as in a deployment.

``python -m benchmarks.peer N HALF AGE_MINUTES`` sets up the tests' two-site layer (the add-on
installed on ``source``), builds the corpus of N objects on ``source`` and, when HALF > 0, one of
HALF objects on a new site ``sourcehalf``; dates both AGE_MINUTES back; prints one JSON line
``{"host": ..., "port": ...}``; then serves until its standard input is closed.
"""

import json
import sys

import transaction
from AccessControl.SecurityManagement import newSecurityManager
from AccessControl.User import UnrestrictedUser
from DateTime import DateTime
from Products.CMFPlone.factory import addPloneSite
from zope.component.hooks import setSite

from senaite_style_sync.testing import SOURCE_SITE_ID
from senaite_style_sync.testing import SYNC_FUNCTIONAL_TESTING
from tests.corpus import build_corpus


def set_up(layer, done: list) -> None:
    """Set up ``layer`` after its bases, each once, as the test runner does."""
    for base in layer.__bases__:
        set_up(base, done)
    if layer not in done:
        layer.setUp()
        done.append(layer)


def age(corpus, minutes: int) -> None:
    """Date the objects back: content on a live site was edited earlier, not seconds ago."""
    past = DateTime() - minutes / (24 * 60)
    for obj in corpus:
        obj.creation_date = past
        obj.modification_date = past
        obj.reindexObject(idxs=["created", "modified"])  # named indexes: no new modification date


def main(n: int, half: int, age_minutes: int) -> None:
    layers: list = []
    set_up(SYNC_FUNCTIONAL_TESTING, layers)
    for layer in layers:
        layer.testSetUp()
    app = SYNC_FUNCTIONAL_TESTING["app"]
    newSecurityManager(None, UnrestrictedUser("bench", "", ["Manager"], []).__of__(app.acl_users))
    sites = [(app[SOURCE_SITE_ID], n, 1)]
    if half:
        setSite(None)
        addPloneSite(app, "sourcehalf", extension_ids=["plone.app.contenttypes:default", "plone.restapi:default", "senaite_style_sync:default"])
        sites.append((app["sourcehalf"], half, 2))
    for site, count, seed in sites:
        setSite(site)
        corpus = build_corpus(site, count, seed=seed)
        transaction.commit()
        if age_minutes:
            age(corpus, age_minutes)
            transaction.commit()
    setSite(None)
    server = SYNC_FUNCTIONAL_TESTING
    print("PEER-READY " + json.dumps({"host": server["host"], "port": server["port"]}), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main(*map(int, sys.argv[1:4]))
