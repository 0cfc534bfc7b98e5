"""A mixed corpus on a peer site: nested folders, pages with links, news with images, files, events."""

import io
import random
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import transaction
from DateTime import DateTime
from PIL import Image
from plone import api
from plone.app.textfield.value import RichTextValue
from plone.namedfile.file import NamedBlobFile
from plone.namedfile.file import NamedBlobImage
from z3c.relationfield import RelationValue
from zope.component import getUtility
from zope.intid.interfaces import IIntIds


# Only folders at most this deep get content. Corpora of 100 objects or fewer never go deeper
# (the tests' are as they were); without the bound, depth grows with N (a mean of 70 levels at
# 10,000 objects), as no site's does.
MAX_FOLDER_DEPTH = 8


def depth_of(site, obj) -> int:
    return len(obj.getPhysicalPath()) - len(site.getPhysicalPath())


def png(seed: int, size: int = 32) -> bytes:
    image = Image.new("RGB", (size, size), ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def file_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def build_corpus(site, n: int = 40, *, seed: int = 1, commit_every: int = 0) -> list:
    """Create about ``n`` objects under ``site``; returns them in creation order. With
    ``commit_every``, commits every that many objects (a large corpus built in one transaction
    slows down with its size: each savepoint of ``api.content.create`` goes over all of it)."""
    rng = random.Random(seed)
    created = []
    with api.env.adopt_roles(["Manager"]):
        folders = [site]
        for depth in range(3):
            folder = api.content.create(folders[-1], "Folder", id=f"folder-{depth}", title=f"Folder {depth}")
            folders.append(folder)
            created.append(folder)
        i = 0
        while len(created) < n:
            i += 1
            container = folders[i % len(folders)]
            kind = i % 5
            if kind == 0:
                obj = api.content.create(container, "Folder", id=f"sub-{i}", title=f"Sub {i}")
                if depth_of(site, obj) <= MAX_FOLDER_DEPTH:
                    folders.append(obj)
            elif kind == 1:
                target = created[rng.randrange(len(created))]
                obj = api.content.create(
                    container,
                    "Document",
                    id=f"page-{i}",
                    title=f"Page {i}",
                    subject=("sync", f"tag{i % 3}"),
                    language="en",
                )
                obj.text = RichTextValue(
                    f'<p>Page {i} links to <a href="resolveuid/{target.UID()}">{target.title}</a>'
                    f' and <a href="https://example.org/x?a=1&amp;b=2">outside</a>. '
                    f"Escaped &lt;b&gt; stays text.</p>",
                    "text/html",
                    "text/x-html-safe",
                )
            elif kind == 2:
                obj = api.content.create(container, "News Item", id=f"news-{i}", title=f"News {i}")
                obj.image = NamedBlobImage(data=png(i), filename=f"news-{i}.png", contentType="image/png")
            elif kind == 3:
                size = rng.choice([10, 5_000, 200_000])
                obj = api.content.create(container, "File", id=f"file-{i}", title=f"File {i}")
                obj.file = NamedBlobFile(
                    data=file_bytes(i, size), filename=f"file-{i}.bin", contentType="application/octet-stream"
                )
            else:
                start = datetime(2026, 1, 1, 9, 30, tzinfo=UTC) + timedelta(days=i)
                obj = api.content.create(
                    container, "Event", id=f"event-{i}", title=f"Event {i}", start=start, end=start + timedelta(hours=2)
                )
            if i % 3 == 0 and api.content.get_state(obj, None) == "private":
                api.content.transition(obj, "publish")
            if i % 7 == 0:
                obj.effective_date = DateTime("2026/03/04 05:06:07 UTC")
            obj.reindexObject()
            created.append(obj)
            if commit_every and len(created) % commit_every == 0:
                transaction.commit()
        intids = getUtility(IIntIds)
        pages = [o for o in created if o.portal_type == "Document"]
        if len(pages) >= 2:
            pages[0].relatedItems = [RelationValue(intids.getId(pages[1]))]
        folders[1].manage_setLocalRoles("editor", ["Reader", "Editor"])
        folders[1].__ac_local_roles_block__ = True
        folders[1].reindexObjectSecurity()
        if pages:
            parent = pages[0].aq_parent
            if parent is not site:
                parent.setDefaultPage(pages[0].getId())
    return created
