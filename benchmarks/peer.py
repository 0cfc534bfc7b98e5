"""The benchmark's peer: Plone sites served over HTTP by a process of their own, as in a deployment.

``python -m benchmarks.peer N HALF AGE_MINUTES`` sets up the tests' two-site layer (the add-on
installed on ``source``), builds the corpus of N objects on ``source`` and, when HALF > 0, one of
HALF objects on a new site ``sourcehalf``; dates both AGE_MINUTES back; prints one JSON line
``PEER-READY {"host": ..., "port": ...}`` once warmed up (see ``warm_up``); then serves
until its standard input is closed.
"""

import json
import sys
from concurrent.futures import ThreadPoolExecutor

import requests
import transaction
from AccessControl.SecurityManagement import newSecurityManager
from AccessControl.User import UnrestrictedUser
from DateTime import DateTime
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from Products.CMFPlone.factory import addPloneSite
from tests.corpus import build_corpus
from zope.component.hooks import setSite

from senaite_style_sync.testing import SOURCE_SITE_ID
from senaite_style_sync.testing import SYNC_FUNCTIONAL_TESTING


# The server layer's waitress serves with 4 threads; the warm-up reads the first objects made.
WARM_UP_THREADS = 4
WARM_UP_OBJECTS = 5


def set_up(layer, done: list) -> None:
    """Set up ``layer`` after its bases, each once, as the test runner does."""
    for base in layer.__bases__:
        set_up(base, done)
    if layer not in done:
        layer.setUp()
        done.append(layer)


def age(corpus, minutes: int) -> None:
    """Date the objects back: content on a live site was edited earlier, not seconds ago. And
    name a creator, as content made by a user has: Plone makes the first reader of content
    without one its creator, a change (docs/sync.rst) that real content does not make."""
    past = DateTime() - minutes / (24 * 60)
    for obj in corpus:
        if not obj.creators:
            obj.setCreators([SITE_OWNER_NAME])
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
        profiles = ["plone.app.contenttypes:default", "plone.restapi:default", "senaite_style_sync:default"]
        addPloneSite(app, "sourcehalf", extension_ids=profiles)
        sites.append((app["sourcehalf"], half, 2))
    warm_up_uids: list[str] = []
    for site, count, seed in sites:
        setSite(site)
        corpus = build_corpus(site, count, seed=seed, commit_every=500)
        transaction.commit()
        if age_minutes:
            age(corpus, age_minutes)
            transaction.commit()
        warm_up_uids = warm_up_uids or [obj.UID() for obj in corpus[:WARM_UP_OBJECTS]]
    setSite(None)
    server = SYNC_FUNCTIONAL_TESTING
    warm_up(f"http://{server['host']}:{server['port']}/{SOURCE_SITE_ID}", warm_up_uids)
    print("PEER-READY " + json.dumps({"host": server["host"], "port": server["port"]}), flush=True)
    sys.stdin.read()


def warm_up(base: str, uids: list[str]) -> None:
    """A few reads on every server thread at once, as a peer in service has had: its ZODB
    connections hold the site, tools and catalog, not the objects the benchmark reads."""
    session = requests.Session()
    session.auth = (SITE_OWNER_NAME, SITE_OWNER_PASSWORD)
    session.headers["Accept"] = "application/json"
    reads = [
        (base, None),
        (f"{base}/@search", [("b_size", 10), ("metadata_fields", "UID")]),
        (f"{base}/@sync-read", [("UID", uid) for uid in uids]),
        (f"{base}/@search", [("fullobjects", "1"), ("expand", "workflow")] + [("UID", uid) for uid in uids]),
    ]

    def read_all(_number: int) -> None:
        for url, params in reads:
            session.get(url, params=params, timeout=60).raise_for_status()

    with ThreadPoolExecutor(WARM_UP_THREADS) as pool:
        list(pool.map(read_all, range(WARM_UP_THREADS * 2)))
    session.close()


if __name__ == "__main__":
    main(*map(int, sys.argv[1:4]))
