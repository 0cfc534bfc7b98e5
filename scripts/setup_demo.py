"""Create the demo sites for `make start`: run as `bin/instance run scripts/setup_demo.py`.

Creates, when missing:

* ``Plone``  -- a classic-UI Plone site with senaite_style_sync installed (the destination);
* ``source`` -- a second Plone site with plone.restapi and demo content (the peer to sync from);
* the Remote ``demo`` on ``Plone``, pointing at ``source``.

Idempotent: whatever already exists is left as it is; a run that finds everything in
place writes nothing to the database.
"""

import io
import random
from datetime import datetime
from datetime import timedelta

import pytz
import transaction
from AccessControl.SecurityManagement import newSecurityManager
from AccessControl.SecurityManagement import noSecurityManager
from PIL import Image
from PIL import ImageDraw
from plone import api
from plone.app.textfield.value import RichTextValue
from plone.base.utils import get_installer
from plone.namedfile.file import NamedBlobFile
from plone.namedfile.file import NamedBlobImage
from Products.CMFCore.indexing import processQueue
from Products.CMFPlone.factory import addPloneSite
from Testing.makerequest import makerequest
from zope.component.hooks import setSite
from zope.globalrequest import setRequest

from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.model.storage import RemoteStorage


HOST = "localhost"
PORT = "8080"
BASE_URL = f"http://{HOST}:{PORT}"
ADMIN = "admin"
ADMIN_PASSWORD = "admin"

SITE_ID = "Plone"
SOURCE_ID = "source"
REMOTE_NAME = "demo"
ADDON = "senaite_style_sync"

CLASSIC_PROFILES = [
    "plone.app.contenttypes:default",
    "plone.app.layout:default",
    "plonetheme.barceloneta:default",
    "plone.restapi:default",
]


def log(message: str) -> None:
    print(f"setup_demo: {message}", flush=True)


# --- generated images and files ---------------------------------------------------------


def make_image(text: str, size: tuple[int, int], colors: tuple[str, str], fmt: str) -> bytes:
    """A small picture: a two-colour gradient with a caption."""
    width, height = size
    start = Image.new("RGB", size, colors[0])
    end = Image.new("RGB", size, colors[1])
    mask = Image.linear_gradient("L").rotate(90).resize(size)
    picture = Image.composite(end, start, mask)
    draw = ImageDraw.Draw(picture)
    draw.rectangle((10, height - 50, width - 10, height - 10), fill="white")
    draw.text((20, height - 40), text, fill="black")
    stream = io.BytesIO()
    picture.save(stream, format=fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return stream.getvalue()


def png(text, colors=("#1f6fb2", "#8fd3ff"), size=(640, 360)):
    return NamedBlobImage(
        data=make_image(text, size, colors, "PNG"),
        contentType="image/png",
        filename=f"{text.lower().replace(' ', '-')}.png",
    )


def jpeg(text, colors=("#b2461f", "#ffd38f"), size=(800, 450)):
    return NamedBlobImage(
        data=make_image(text, size, colors, "JPEG"),
        contentType="image/jpeg",
        filename=f"{text.lower().replace(' ', '-')}.jpg",
    )


def text_file(filename: str, content_type: str, lines: int, seed: int) -> NamedBlobFile:
    rng = random.Random(seed)
    if content_type == "text/csv":
        rows = ["sample,instrument,value,unit"]
        rows += [f"S-{i:05d},{rng.choice(['ICP', 'HPLC', 'GC'])},{rng.uniform(0, 100):.3f},mg/L" for i in range(lines)]
    else:
        words = "sample analysis result method batch quality control report lab value".split()
        rows = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(lines)]
    data = ("\n".join(rows) + "\n").encode("utf-8")
    return NamedBlobFile(data=data, contentType=content_type, filename=filename)


def binary_file(filename: str, size: int, seed: int) -> NamedBlobFile:
    data = random.Random(seed).randbytes(size)
    return NamedBlobFile(data=data, contentType="application/octet-stream", filename=filename)


# --- the demo content of ``source`` ------------------------------------------------------
#
# (path, portal_type, title, publish, extra fields).  Parents come before their children.
# Rich text is given as a function of ``uid(path)`` and set once every object exists, so
# documents can link to any other demo object with resolveuid/<UID>.


def html(*paragraphs: str) -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def link(uid, path: str, label: str) -> str:
    return f'<a href="resolveuid/{uid(path)}">{label}</a>'


TODAY = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)


def at(days: int, hour: int) -> datetime:
    return pytz.utc.localize(TODAY + timedelta(days=days, hours=hour))


def demo_content():
    return [
        (
            "welcome",
            "Document",
            "Welcome to the source site",
            True,
            {
                "description": "Start page of the demo peer site.",
                "text": lambda uid: html(
                    "This site is the peer that the <em>Plone</em> site syncs from.",
                    f"Read {link(uid, 'about', 'about us')}, the {link(uid, 'news', 'news')}, "
                    f"the {link(uid, 'events', 'events')} and the {link(uid, 'downloads', 'downloads')}.",
                    f"Latest: {link(uid, 'news/lab-opens', 'the new laboratory opens')}.",
                    f'<img src="resolveuid/{uid("images/banner")}/@@images/image/preview" alt="Banner" />',
                    'More about Plone at <a href="https://plone.org">plone.org</a>.',
                ),
            },
        ),
        ("images", "Folder", "Images", True, {"description": "Pictures used across the site."}),
        ("images/logo", "Image", "Logo", False, {"image": lambda: png("Logo", size=(256, 256))}),
        ("images/banner", "Image", "Banner", False, {"image": lambda: jpeg("Banner", size=(1200, 300))}),
        ("about", "Folder", "About us", True, {"description": "Who we are."}),
        (
            "about/overview",
            "Document",
            "About us",
            True,
            {
                "description": "Default page of the About us folder.",
                "text": lambda uid: html(
                    f"We are a small laboratory. Meet {link(uid, 'about/team', 'the team')}.",
                    f"Our {link(uid, 'about/history', 'history')} goes back a long way; "
                    f"to reach us see {link(uid, 'about/contact', 'contact')}.",
                ),
            },
        ),
        (
            "about/history",
            "Document",
            "History",
            True,
            {
                "description": "How it all started.",
                "text": lambda uid: html(
                    "Founded many years ago, the laboratory has grown steadily.",
                    f"The latest milestone: {link(uid, 'news/lab-opens', 'a new building')}.",
                    'Background reading: <a href="https://en.wikipedia.org/wiki/Laboratory">'
                    "Laboratory on Wikipedia</a>.",
                ),
            },
        ),
        (
            "about/contact",
            "Document",
            "Contact",
            False,
            {
                "description": "Internal contact list (private).",
                "text": lambda uid: html(
                    f"Ask {link(uid, 'about/team/people/alice', 'Alice')} or "
                    f"{link(uid, 'about/team/people/bob', 'Bob')}.",
                ),
            },
        ),
        ("about/team", "Folder", "Team", True, {"description": "The people behind the lab."}),
        ("about/team/people", "Folder", "People", True, {}),
        (
            "about/team/people/alice",
            "Document",
            "Alice Example",
            True,
            {
                "description": "Head of the laboratory.",
                "text": lambda uid: html(
                    f'<img src="resolveuid/{uid("about/team/people/portraits/alice-portrait")}/@@images/image/thumb" '
                    'alt="Alice" />',
                    "Alice leads the lab and wrote the "
                    f"{link(uid, 'downloads/reports/annual-report', 'annual report')}.",
                ),
            },
        ),
        (
            "about/team/people/bob",
            "Document",
            "Bob Example",
            False,
            {
                "description": "Lab technician (profile not yet published).",
                "text": lambda uid: html(f"Bob runs the {link(uid, 'events/workshop', 'workshop')}."),
            },
        ),
        ("about/team/people/portraits", "Folder", "Portraits", True, {}),
        (
            "about/team/people/portraits/alice-portrait",
            "Image",
            "Portrait of Alice",
            False,
            {"image": lambda: png("Alice", colors=("#2e7d32", "#c8e6c9"), size=(300, 400))},
        ),
        (
            "about/team/people/portraits/bob-portrait",
            "Image",
            "Portrait of Bob",
            False,
            {"image": lambda: jpeg("Bob", colors=("#6a1b9a", "#e1bee7"), size=(300, 400))},
        ),
        ("news", "Folder", "News", True, {"description": "What happened lately."}),
        (
            "news/lab-opens",
            "News Item",
            "The new laboratory opens",
            True,
            {
                "description": "After two years of building, the doors open.",
                "image": lambda: jpeg("Lab opens"),
                "image_caption": "The new building",
                "text": lambda uid: html(
                    f"Visit us on the {link(uid, 'events/open-day', 'open day')}.",
                    f"See the {link(uid, 'images/banner', 'banner')} and the {link(uid, 'about/history', 'history')}.",
                ),
            },
        ),
        (
            "news/new-equipment",
            "News Item",
            "New equipment arrived",
            True,
            {
                "description": "Two new instruments are in service.",
                "image": lambda: png("Equipment", colors=("#37474f", "#b0bec5")),
                "text": lambda uid: html(
                    f"Measurements are in {link(uid, 'downloads/reports/data/measurements', 'the data folder')}.",
                ),
            },
        ),
        (
            "news/quarterly-report",
            "News Item",
            "Quarterly report (draft)",
            False,
            {
                "description": "Not published yet.",
                "image": lambda: jpeg("Quarterly", colors=("#004d40", "#80cbc4")),
                "text": lambda uid: html(f"Draft of the {link(uid, 'downloads/reports/summary', 'summary')}."),
            },
        ),
        ("news/archive", "Folder", "News archive", True, {}),
        (
            "news/archive/old-announcement",
            "News Item",
            "An old announcement",
            True,
            {
                "description": "From the archive.",
                "image": lambda: png("Archive", colors=("#795548", "#d7ccc8")),
                "text": lambda uid: html(f"Back to the {link(uid, 'news', 'news')}."),
            },
        ),
        ("events", "Folder", "Events", True, {"description": "Upcoming and past events."}),
        (
            "events/open-day",
            "Event",
            "Open day",
            True,
            {
                "description": "Visit the new laboratory.",
                "start": at(14, 10),
                "end": at(14, 16),
                "location": "Main building",
                "text": lambda uid: html(f"Celebrating {link(uid, 'news/lab-opens', 'the opening')}."),
            },
        ),
        (
            "events/workshop",
            "Event",
            "Sample preparation workshop",
            True,
            {
                "description": "Two days, hands-on.",
                "start": at(30, 9),
                "end": at(31, 17),
                "location": "Room 101",
                "text": lambda uid: html(f"Read the {link(uid, 'downloads/guide', 'guide')} beforehand."),
            },
        ),
        (
            "events/board-meeting",
            "Event",
            "Board meeting",
            False,
            {
                "description": "Internal.",
                "start": at(7, 14),
                "end": at(7, 15),
            },
        ),
        ("events/archive", "Folder", "Past events", True, {}),
        (
            "events/archive/past-conference",
            "Event",
            "Past conference",
            True,
            {
                "description": "Last year's conference.",
                "start": at(-200, 9),
                "end": at(-198, 18),
                "location": "Conference centre",
            },
        ),
        ("downloads", "Folder", "Downloads", True, {"description": "Files to download."}),
        (
            "downloads/guide",
            "Document",
            "Download guide",
            True,
            {
                "description": "What is where.",
                "text": lambda uid: html(
                    f"The {link(uid, 'downloads/reports/annual-report', 'annual report')} is a large file; "
                    f"the {link(uid, 'downloads/reports/summary', 'summary')} is short.",
                    f"Raw data: {link(uid, 'downloads/reports/data/raw-data', 'raw-data.bin')}.",
                ),
            },
        ),
        ("downloads/reports", "Folder", "Reports", True, {}),
        (
            "downloads/reports/summary",
            "File",
            "Summary",
            False,
            {"file": lambda: text_file("summary.txt", "text/plain", 25, seed=1)},
        ),
        (
            "downloads/reports/annual-report",
            "File",
            "Annual report",
            False,
            {"file": lambda: text_file("annual-report.txt", "text/plain", 2500, seed=2)},
        ),
        ("downloads/reports/data", "Folder", "Data", True, {}),
        (
            "downloads/reports/data/measurements",
            "File",
            "Measurements",
            False,
            {"file": lambda: text_file("measurements.csv", "text/csv", 600, seed=3)},
        ),
        (
            "downloads/reports/data/raw-data",
            "File",
            "Raw data",
            False,
            {"file": lambda: binary_file("raw-data.bin", 1024 * 1024, seed=4)},
        ),
    ]


DEFAULT_PAGES = {"about": "overview"}


# --- steps ------------------------------------------------------------------------------


def use_site(site) -> None:
    """Make ``site`` the current site, indexing what is queued into the previous site's catalog first.

    Plone indexes lazily, into the catalog of whatever site is current when the queue is
    processed; without this the demo content would land in the other site's catalog.
    """
    processQueue()
    setSite(site)


def ensure_admin(app) -> bool:
    """The Zope root's ``admin`` user; Zope makes it from buildout's ``user`` on first start.

    It can be missing when the database was made afresh after that first start (Zope reads
    the initial user only once), so add it then with the password the docs promise.
    """
    if app.acl_users.getUser(ADMIN) is not None:
        return False
    app.acl_users._doAddUser(ADMIN, ADMIN_PASSWORD, ["Manager"], [])
    log(f"created the Zope user '{ADMIN}' (Manager).")
    return True


def ensure_plone_site(app) -> bool:
    if SITE_ID in app.objectIds():
        portal = app[SITE_ID]
        use_site(portal)
        installer = get_installer(portal, app.REQUEST)
        if installer.is_product_installed(ADDON):
            log(f"site '{SITE_ID}' already exists with {ADDON} installed.")
            return False
        installer.install_product(ADDON)
        log(f"site '{SITE_ID}' already existed; installed {ADDON} on it.")
        return True
    use_site(None)
    addPloneSite(app, SITE_ID, title="Plone", extension_ids=CLASSIC_PROFILES + [f"{ADDON}:default"])
    log(f"created site '{SITE_ID}' with {ADDON} installed.")
    return True


def ensure_source_site(app) -> bool:
    if SOURCE_ID in app.objectIds():
        log(f"site '{SOURCE_ID}' already exists.")
        return False
    use_site(None)
    addPloneSite(app, SOURCE_ID, title="Source site", extension_ids=CLASSIC_PROFILES)
    log(f"created site '{SOURCE_ID}'.")
    return True


def ensure_demo_content(source) -> int:
    use_site(source)
    created = []
    items = demo_content()
    for path, portal_type, title, publish, extra in items:
        parent_path, _, obj_id = path.rpartition("/")
        parent = source.unrestrictedTraverse(parent_path) if parent_path else source
        if obj_id in parent.objectIds():
            continue
        fields = {key: (value() if callable(value) else value) for key, value in extra.items() if key != "text"}
        obj = api.content.create(container=parent, type=portal_type, id=obj_id, title=title, **fields)
        created.append((obj, path, publish, extra.get("text")))

    def uid(path: str) -> str:
        return api.content.get(path=f"/{path}").UID()

    for obj, _path, _publish, text in created:
        if text is not None:
            obj.text = RichTextValue(text(uid), "text/html", "text/x-html-safe")
            obj.reindexObject()
    created_paths = {path for _obj, path, _publish, _text in created}
    for folder_path, page_id in DEFAULT_PAGES.items():
        if {folder_path, f"{folder_path}/{page_id}"} & created_paths:
            source.unrestrictedTraverse(folder_path).setDefaultPage(page_id)
    for obj, _path, publish, _text in created:
        if publish and api.content.get_state(obj, default=None) != "published":
            api.content.transition(obj, transition="publish")

    if created:
        log(f"created {len(created)} demo objects in '{SOURCE_ID}'.")
    else:
        log(f"all {len(items)} demo objects in '{SOURCE_ID}' already exist.")
    return len(created)


def ensure_remote(portal) -> bool:
    use_site(portal)
    if REMOTE_NAME in RemoteStorage(portal):
        log(f"remote '{REMOTE_NAME}' already exists on '{SITE_ID}'.")
        return False
    create_remote(
        portal,
        {
            "name": REMOTE_NAME,
            "url": f"{BASE_URL}/{SOURCE_ID}",
            "username": ADMIN,
            "password": ADMIN_PASSWORD,
        },
    )
    log(f"created remote '{REMOTE_NAME}' -> {BASE_URL}/{SOURCE_ID} on '{SITE_ID}'.")
    return True


def main(app) -> None:
    app = makerequest(app, environ={"SERVER_NAME": HOST, "SERVER_PORT": PORT})
    setRequest(app.REQUEST)
    try:
        changed = ensure_admin(app)
        newSecurityManager(None, app.acl_users.getUser(ADMIN).__of__(app.acl_users))
        changed = ensure_plone_site(app) or changed
        changed = ensure_source_site(app) or changed
        changed = bool(ensure_demo_content(app[SOURCE_ID])) or changed
        changed = ensure_remote(app[SITE_ID]) or changed
        processQueue()
        if changed:
            transaction.get().note("senaite_style_sync: demo sites")
            transaction.commit()
            log("changes committed.")
        else:
            transaction.abort()
            log("everything already exists; nothing changed.")
    except Exception:
        transaction.abort()
        raise
    finally:
        setSite(None)
        noSecurityManager()

    print()
    print("  Sync page:   " + f"{BASE_URL}/{SITE_ID}/@@sync")
    print("  Source site: " + f"{BASE_URL}/{SOURCE_ID}")
    print(f"  Log in as:   {ADMIN} / {ADMIN_PASSWORD}")
    print()
    # Close the database so FileStorage writes its index and the next start is quick.
    app._p_jar.db().close()


main(app)  # noqa: F821 -- `app` is the Zope root, provided by `bin/instance run`
