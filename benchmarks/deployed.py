"""A Zope instance as deployed, for the benchmark's (h) and (f): a process of its own, FileStorage.

``python -m benchmarks.deployed ROLE DIRECTORY N`` writes a ``zope.conf`` in DIRECTORY (the
instance buildout writes, parts/instance/etc/zope.conf, with its cache size; its Data.fs
and blobs in DIRECTORY), starts Zope from it and sets up one site:

``peer``         ``source``, with the add-on, holding the corpus of N objects (tests/corpus.py),
                 dated back and with a creator as in benchmarks/peer.py;
``destination``  ``Plone``, with the add-on and nothing else.

It then serves the site with waitress (4 threads, as the instance does) and prints one JSON
line ``INSTANCE-READY {"port": ..., "setup_seconds": ...}``. On standard input it answers
``stats`` with one JSON line (resident and peak memory of the process, objects in the ZODB
caches, Data.fs size), ``reset`` by resetting the peak first, ``stock`` by taking the add-on's
browser layer off the site first (it then serves plone.restapi only, as a site without the
add-on), and stops at the end of input.
"""

import json
import os
import sys
import threading
import time
from pathlib import Path

import transaction
import waitress
import Zope2
from AccessControl.SecurityManagement import newSecurityManager
from AccessControl.SecurityManagement import noSecurityManager
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from plone.browserlayer.utils import unregister_layer
from Products.CMFPlone.factory import addPloneSite
from Testing.makerequest import makerequest
from tests.corpus import build_corpus
from zope.component.hooks import setSite
from zope.globalrequest import setRequest
from Zope2.Startup.run import make_wsgi_app
from ZPublisher.httpexceptions import HTTPExceptionHandler

from benchmarks.peer import age


PROFILES = ["plone.app.contenttypes:default", "plone.restapi:default", "senaite_style_sync:default"]
SITES = {"peer": "source", "destination": "Plone"}
CACHE_SIZE = 30000  # as parts/instance/etc/zope.conf
THREADS = 4
AGE_MINUTES = 60
COMMIT_EVERY = 500
ZOPE_CONF = """\
%define INSTANCEHOME {home}
instancehome $INSTANCEHOME
%define CLIENTHOME {home}
clienthome $CLIENTHOME
debug-mode off
security-policy-implementation C
verbose-security off
default-zpublisher-encoding utf-8
<zodb_db main>
    cache-size {cache_size}
    <blobstorage>
      blob-dir {home}/blobstorage
      <filestorage>
        path {home}/Data.fs
      </filestorage>
    </blobstorage>
    mount-point /
</zodb_db>
python-check-interval 1000
<product-config senaite_style_sync>
    key-file {home}/senaite_style_sync.key
    bundle-dir {home}/bundles
</product-config>
"""


def configure(home: Path):
    """Zope started from a zope.conf of its own in ``home``; the WSGI application."""
    home.mkdir(parents=True, exist_ok=True)
    conf = home / "zope.conf"
    conf.write_text(ZOPE_CONF.format(home=home, cache_size=CACHE_SIZE))
    return HTTPExceptionHandler(make_wsgi_app({}, str(conf)))


def set_up(role: str, n: int) -> None:
    """The role's site, committed; the site owner (a Manager of the Zope root) made first."""
    app = makerequest(Zope2.app())
    setRequest(app.REQUEST)
    if app.acl_users.getUser(SITE_OWNER_NAME) is None:
        app.acl_users._doAddUser(SITE_OWNER_NAME, SITE_OWNER_PASSWORD, ["Manager"], [])
    newSecurityManager(None, app.acl_users.getUser(SITE_OWNER_NAME).__of__(app.acl_users))
    site = addPloneSite(app, SITES[role], extension_ids=PROFILES)
    transaction.commit()
    if role == "peer":
        setSite(site)
        corpus = build_corpus(site, n, commit_every=COMMIT_EVERY)
        transaction.commit()
        age(corpus, AGE_MINUTES)
        transaction.commit()
    setSite(None)
    noSecurityManager()
    setRequest(None)
    app._p_jar.close()


def memory() -> dict[str, float]:
    """The process's resident and peak resident memory (MiB), from /proc."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(value.split()[0]) / 1024
    return {"rss_mib": values["VmRSS"], "peak_mib": values["VmHWM"]}


def make_stock(role: str) -> None:
    """Take the add-on's browser layer off the role's site: its views and services are gone."""
    app = Zope2.app()
    try:
        setSite(app[SITES[role]])
        unregister_layer("senaite_style_sync")
        transaction.commit()
    finally:
        setSite(None)
        app._p_jar.close()


def answer(role: str, home: Path) -> None:
    for line in sys.stdin:
        command = line.strip()
        if command == "reset":
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
        elif command == "stock":
            make_stock(role)
        stats = memory() | {
            "cached_objects": Zope2.DB.cacheSize(),
            "data_fs_mib": (home / "Data.fs").stat().st_size / 2**20,
        }
        print(json.dumps(stats), flush=True)


def main(role: str, directory: str, n: int) -> None:
    started = time.perf_counter()
    home = Path(directory).resolve()
    application = configure(home)
    set_up(role, n)
    server = waitress.create_server(application, host="127.0.0.1", port=0, threads=THREADS)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    ready = {"port": server.effective_port, "setup_seconds": time.perf_counter() - started}
    print("INSTANCE-READY " + json.dumps(ready), flush=True)
    answer(role, home)
    server.close()
    os._exit(0)  # the job threads and the ZODB have nothing left to write: no waiting for them


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
