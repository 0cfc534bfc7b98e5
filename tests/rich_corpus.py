"""A rich, deterministic corpus: about 70 objects exercising what a faithful copy must keep.

``build_rich_corpus(site)`` run on two sites with the same seed gives the same UIDs, ids, fields,
rich text, blobs, relations, workflow histories, local roles, order and dates on both; only what
the site itself contributes (its URL, intids, blob hashes) differs.
"""

import io
import random
import uuid
from datetime import datetime
from datetime import timedelta

import pytz
from Acquisition import aq_base
from DateTime import DateTime
from PIL import Image
from PIL import ImageDraw
from plone import api
from plone.app.testing import SITE_OWNER_NAME
from plone.app.textfield.value import RichTextValue
from plone.namedfile.file import NamedBlobFile
from plone.namedfile.file import NamedBlobImage
from z3c.relationfield import RelationValue
from z3c.relationfield.event import updateRelations
from zope.component import getUtility
from zope.intid.interfaces import IIntIds

from senaite_style_sync.testing import EDITOR_NAME


UNICODE = "Ñandú – Größe – 日本語 – emoji 🧪"
T0 = DateTime("2024/01/15 08:00:00 UTC")
BERLIN = pytz.timezone("Europe/Berlin")
LIMA = pytz.timezone("America/Lima")


def image_bytes(seed: int, width: int, height: int, fmt: str = "PNG") -> bytes:
    """A real image with some shapes on it (deterministic for a seed)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        box = (x0, y0, min(width, x0 + rng.randrange(1, width)), min(height, y0 + rng.randrange(1, height)))
        draw.rectangle(box, fill=tuple(rng.randrange(256) for _ in range(3)))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def rich(html: str) -> RichTextValue:
    return RichTextValue(html, "text/html", "text/x-html-safe")


def img_tag(image, scale: str, alt: str, css: str = "image-inline", extra: str = "") -> str:
    """An image as Plone 6's TinyMCE stores it."""
    uid = image.UID()
    return (
        f'<img src="resolveuid/{uid}/@@images/image/{scale}" class="image-richtext {css}" '
        f'data-linktype="image" data-scale="{scale}" data-val="{uid}"{extra} alt="{alt}" />'
    )


def build_rich_corpus(site, *, seed: int = 7) -> dict:
    """Create the corpus under ``site`` (as ``admin`` with the Manager role).

    Returns handles: ``objects`` (creation order), ``by_name`` (name -> object) and ``by_role``
    (role in the corpus, e.g. "default_page", "reordered_folder" -> list of objects).
    """
    rng = random.Random(seed)
    objects: list = []
    by_name: dict = {}
    by_role: dict = {}

    def make(container, portal_type, obj_id, title, name=None, roles=(), **kwargs):
        uid = uuid.UUID(int=rng.getrandbits(128), version=4).hex
        obj = api.content.create(container, portal_type, id=obj_id, title=title, **{"_plone.uuid": uid}, **kwargs)
        assert obj.UID() == uid, (obj.UID(), uid)
        objects.append(obj)
        by_name[name or obj_id] = obj
        for role in roles:
            by_role.setdefault(role, []).append(obj)
        return obj

    with api.env.adopt_user(username=SITE_OWNER_NAME), api.env.adopt_roles(["Manager"]):
        # Five levels of nested folders, each holding a page.
        container = site
        for level, (fid, title) in enumerate(
            [
                ("archiv", f"Archiv – {UNICODE}"),
                ("jahr-2024", "Jahr 2024"),
                ("quartal-1", "Quartal Ⅰ"),
                ("monat-01", "Monat Jänner"),
                ("woche-1", "Woche ① 🧪"),
            ],
            start=1,
        ):
            container = make(container, "Folder", fid, title, roles=("nested",), description=f"Ebene {level} – Größe")
            make(
                container,
                "Document",
                f"seite-ebene-{level}",
                f"Seite auf Ebene {level} – 日本語",
                roles=("nested",),
                text=rich(f"<p>Ebene {level}: Ñandú läuft über die Grüße 🧪</p>"),
            )
        make(
            by_name["jahr-2024"],
            "File",
            "bericht (v2)",
            "Bericht (v2) – Entwurf",
            roles=("odd_id",),
            file=NamedBlobFile(
                b"Bericht \xe2\x80\x93 v2\n" * 40, filename="bericht (v2).txt", contentType="text/plain"
            ),
        )

        # Media: images of several sizes and formats, files of several sizes.
        medien = make(site, "Folder", "medien", "Medien – 画像", roles=("layout",))
        medien.setLayout("album_view")
        images = []
        for n, (w, h, fmt) in enumerate(
            [
                (800, 600, "PNG"),
                (1200, 900, "PNG"),
                (400, 300, "PNG"),
                (64, 64, "PNG"),
                (2000, 1000, "PNG"),
                (300, 800, "JPEG"),
            ]
        ):
            ext, ctype = ("png", "image/png") if fmt == "PNG" else ("jpg", "image/jpeg")
            images.append(
                make(
                    medien,
                    "Image",
                    f"bild-{w}x{h}",
                    f"Bild {w}×{h} – Größe",
                    roles=("image",),
                    description=f"Beschreibung {w}×{h} 🧪 – als Bildunterschrift",
                    image=NamedBlobImage(
                        image_bytes(seed + n, w, h, fmt), filename=f"bild-{w}x{h}.{ext}", contentType=ctype
                    ),
                )
            )
        files = []
        for _n, (fid, fname, ctype, data) in enumerate(
            [
                ("leer", "leer.bin", "application/octet-stream", b""),
                ("ein-byte", "ein-byte.bin", "application/octet-stream", b"\x00"),
                ("daten-10k", "daten-10k.bin", "application/octet-stream", random.Random(seed).randbytes(10_000)),
                ("groesse-text", "größe-日本語.txt", "text/plain", f"{UNICODE}\n".encode() * 100),
                (
                    "handbuch",
                    "handbuch.pdf",
                    "application/pdf",
                    b"%PDF-1.4\n" + random.Random(seed + 1).randbytes(300_000),
                ),
                ("gross", "gross.bin", "application/octet-stream", random.Random(seed + 2).randbytes(1_500_000)),
            ]
        ):
            files.append(
                make(
                    medien,
                    "File",
                    fid,
                    f"Datei {fname}",
                    roles=("file",),
                    file=NamedBlobFile(data, filename=fname, contentType=ctype),
                )
            )
        make(
            medien,
            "Document",
            "größe-日本語",
            f"Unicode-Id – {UNICODE}",
            roles=("odd_id",),
            text=rich("<p>Die Id dieser Seite ist nicht ASCII.</p>"),
        )
        make(
            medien,
            "Document",
            "a~b,c (d)",
            "Id mit Sonderzeichen",
            roles=("odd_id",),
            text=rich("<p>Tilde, Komma, Klammern und Leerzeichen in der Id.</p>"),
        )
        # Made by a script: the required title is empty (no form or REST call checked it).
        make(medien, "Document", "ohne-titel", "", roles=("untitled",), text=rich("<p>Kein Titel.</p>"))

        # Pages with rich text: filled in below, once every target exists.
        seiten = make(site, "Folder", "seiten", "Seiten – ページ", roles=("layout",))
        seiten.setLayout("summary_view")
        pages = [
            make(
                seiten,
                "Document",
                f"seite-{n}",
                f"Seite {n} – {UNICODE}",
                roles=("page",),
                description=f"Beschreibung {n}: Größe & 日本語",
                subject=("Größe", "日本語", f"tag-{n % 3}", "🧪"),
            )
            for n in range(1, 11)
        ]

        # Links, internal and external.
        links = make(site, "Folder", "links", "Verweise")
        for n, target in enumerate([pages[0], files[4], by_name["archiv"]], start=1):
            make(
                links,
                "Link",
                f"intern-{n}",
                f"Interner Verweis {n} → {target.title}",
                roles=("internal_link",),
                remoteUrl=f"${{portal_url}}/resolveuid/{target.UID()}",
            )
        for n, url in enumerate(
            [
                "https://example.org/",
                "https://example.org/pfad/größe?q=ñandú&x=1#frag",
                "https://example.org/a/b/c.html",
            ],
            start=1,
        ):
            make(links, "Link", f"extern-{n}", f"Externer Verweis {n}", roles=("external_link",), remoteUrl=url)

        # News with lead images.
        nachrichten = make(site, "Folder", "nachrichten", "Nachrichten – ニュース")
        news = [
            make(
                nachrichten,
                "News Item",
                f"meldung-{n}",
                f"Meldung {n} – {UNICODE}",
                roles=("news",),
                image=NamedBlobImage(
                    image_bytes(seed + 10 + n, 640 + 80 * n, 480), filename=f"meldung-{n}.png", contentType="image/png"
                ),
                image_caption=f"Bildunterschrift {n} – 日本語",
                text=rich(f"<p>Meldung {n}</p>" + img_tag(images[n], "mini", f"Bild {n}", "image-left")),
            )
            for n in range(1, 4)
        ]

        # Events: time zones, whole day, open end, recurrence.
        termine = make(site, "Folder", "termine", "Termine", roles=("layout",))
        termine.setLayout("event_listing")
        berlin = BERLIN.localize(datetime(2026, 3, 29, 1, 30))  # the night the clocks change
        lima = LIMA.localize(datetime(2026, 7, 28, 19, 0))
        events = [
            make(
                termine,
                "Event",
                "berlin",
                "Termin in Berlin – Größe",
                roles=("event",),
                start=berlin,
                end=berlin + timedelta(hours=3),
                location="Berlin – Mitte",
                text=rich("<p>Zeitumstellung!</p>"),
            ),
            make(
                termine,
                "Event",
                "lima",
                "Evento en Lima – Ñandú",
                roles=("event",),
                start=lima,
                end=lima + timedelta(hours=2),
                contact_name="Ñusta Quispe",
                contact_email="nusta@example.org",
            ),
            make(
                termine,
                "Event",
                "ganztags",
                "Ganztägig",
                roles=("event", "whole_day"),
                start=BERLIN.localize(datetime(2026, 5, 1, 0, 0)),
                end=BERLIN.localize(datetime(2026, 5, 1, 23, 59, 59)),
                whole_day=True,
            ),
            make(
                termine,
                "Event",
                "offenes-ende",
                "Offenes Ende",
                roles=("event", "open_end"),
                start=LIMA.localize(datetime(2026, 6, 10, 18, 0)),
                end=LIMA.localize(datetime(2026, 6, 10, 23, 59, 59)),
                open_end=True,
            ),
            make(
                termine,
                "Event",
                "woechentlich",
                "Wöchentlich – 5 Mal",
                roles=("event", "recurring"),
                start=BERLIN.localize(datetime(2026, 9, 7, 10, 0)),
                end=BERLIN.localize(datetime(2026, 9, 7, 11, 30)),
                recurrence="RRULE:FREQ=WEEKLY;COUNT=5",
            ),
        ]

        # Collections.
        sammlungen = make(site, "Folder", "sammlungen", "Sammlungen")
        make(
            sammlungen,
            "Collection",
            "alle-seiten",
            "Alle Seiten – 日本語",
            roles=("collection",),
            query=[{"i": "portal_type", "o": "plone.app.querystring.operation.selection.any", "v": ["Document"]}],
            sort_on="sortable_title",
            sort_reversed=True,
            limit=20,
            item_count=15,
            text=rich("<p>Alle Seiten, rückwärts sortiert.</p>"),
        )
        make(
            sammlungen,
            "Collection",
            "kommende-termine",
            "Kommende Termine",
            roles=("collection",),
            query=[
                {"i": "portal_type", "o": "plone.app.querystring.operation.selection.any", "v": ["Event"]},
                {"i": "path", "o": "plone.app.querystring.operation.string.relativePath", "v": "../termine"},
            ],
            sort_on="start",
            limit=5,
        )

        # A folder with a default page.
        ueber = make(site, "Folder", "ueber-uns", "Über uns", roles=("default_page_folder",))
        welcome = make(
            ueber,
            "Document",
            "willkommen",
            "Willkommen – ようこそ",
            roles=("default_page",),
            text=rich("<p>Willkommen! 🧪</p>"),
        )
        make(ueber, "Document", "team", "Team", text=rich("<p>Das Team.</p>"))
        ueber.setDefaultPage(welcome.getId())

        # Local roles: blocked inheritance, and a role for a user and a group.
        intranet = make(site, "Folder", "intranet", "Intranet – 内部", roles=("local_roles",))
        intranet.manage_setLocalRoles(EDITOR_NAME, ["Editor", "Reader"])
        intranet.__ac_local_roles_block__ = True
        make(intranet, "Document", "intern", "Intern", text=rich("<p>Nur intern.</p>"))
        protokoll = make(intranet, "Document", "protokoll", "Protokoll", roles=("local_roles",))
        protokoll.manage_setLocalRoles(EDITOR_NAME, ["Reviewer"])
        nachrichten.manage_setLocalRoles("Reviewers", ["Reader"])
        by_role["local_roles"].append(nachrichten)

        # A folder whose children are not in creation order.
        sortiert = make(site, "Folder", "sortiert", "Sortiert", roles=("reordered_folder",))
        for n in range(1, 7):
            make(sortiert, "Document", f"c-{n}", f"Kind {n}", roles=("reordered",))
        sortiert.moveObjectsToTop(["c-5"])
        sortiert.moveObjectToPosition("c-2", 4)
        sortiert.moveObjectsUp(["c-6"], 2)

        # Publication dates.
        abgelaufen = make(
            site, "Document", "abgelaufen", "Abgelaufen", roles=("expired",), text=rich("<p>Abgelaufen.</p>")
        )
        zukunft = make(site, "Document", "zukunft", "Zukunft", roles=("future",), text=rich("<p>Noch nicht.</p>"))

        # Rich text: links as TinyMCE stores them, anchors, images at several scales, captions.
        p, img, f = pages, images, files
        variant = img_tag(
            img[0], "large", "Bildvariante", "image-inline picture-variant-medium", ' data-picturevariant="medium"'
        )
        p[0].text = rich(
            '<h2 id="oben">Übersicht – 日本語</h2>'
            f'<p><a href="resolveuid/{p[1].UID()}">Seite 2</a>, '
            f'<a href="resolveuid/{p[2].UID()}#abschnitt-2" data-linktype="internal" data-val="{p[2].UID()}">'
            "Seite 3, Abschnitt 2</a>, "
            f'<a href="resolveuid/{f[4].UID()}/@@download/file">Handbuch (PDF)</a>, '
            f'<a href="resolveuid/{f[3].UID()}/@@download/file">Größe.txt</a>, '
            f'<a href="resolveuid/{img[1].UID()}/@@download/image">Bild zum Herunterladen</a>, '
            f'<a href="resolveuid/{by_name["woche-1"].UID()}">tief verschachtelt</a>, '
            f'<a href="resolveuid/{by_name["größe-日本語"].UID()}">Unicode-Id</a>, '
            f'<a href="resolveuid/{by_name["a~b,c (d)"].UID()}">Sonderzeichen-Id</a>, '
            '<a href="https://example.org/x?a=1&amp;b=2">extern</a>, '
            '<a href="mailto:info@example.org">E-Mail</a>, '
            '<a href="#oben">nach oben</a>.</p>'
            "<p>Escaped &lt;b&gt; stays text; ümlaut &amp; emoji 🧪.</p>"
        )
        p[1].text = rich(
            "<p>Bilder in mehreren Größen:</p>"
            f"<p>{img_tag(img[0], 'preview', 'Vorschau 800×600')}</p>"
            f"<p>{img_tag(img[1], 'large', 'Groß', 'image-left')}</p>"
            f"<p>{img_tag(img[2], 'thumb', 'Daumen', 'image-right')}</p>"
            f"<p>{img_tag(img[3], 'mini', 'Winzig (kleiner als die Skala)')}</p>"
            f"<figure>{img_tag(img[4], 'preview', 'Mit Bildunterschrift')}"
            "<figcaption>Bildunterschrift – Größe 日本語 🧪</figcaption></figure>"
            f"<figure>{img_tag(img[5], 'thumb', 'Hochformat', 'image-right')}"
            "<figcaption>Hochformat (JPEG)</figcaption></figure>"
            f"<p>{variant}</p>"
            f"<p>{img_tag(img[2], 'preview', 'Alte Bildunterschrift', 'image-left captioned')}</p>"
        )
        p[2].text = rich(
            '<p><a id="anfang"></a>Anfang</p><h2 id="abschnitt-1">Abschnitt 1</h2><p>Text.</p>'
            '<h2 id="abschnitt-2">Abschnitt 2</h2>'
            '<p><a name="alt-anker"></a>Alter Anker, <a href="#abschnitt-1">zurück zu 1</a>.</p>'
            "<table><tbody><tr><th>Größe</th><td>日本語</td></tr></tbody></table>"
            "<ul><li>eins</li><li>zwei 🧪</li></ul>"
        )
        p[3].text = rich(
            f'<p><a href="resolveuid/{img[0].UID()}/@@images/image/large">'
            f"{img_tag(img[0], 'thumb', 'Verlinktes Vorschaubild')}</a></p>"
            f'<p><a href="resolveuid/{img[4].UID()}">Bildseite</a></p>'
        )
        p[4].text = rich(
            f'<p><a href="resolveuid/{events[0].UID()}">Termin</a>, '
            f'<a href="resolveuid/{news[0].UID()}">Meldung</a>, '
            f'<a href="resolveuid/{by_name["alle-seiten"].UID()}">Sammlung</a>, '
            f'<a href="resolveuid/{by_name["intern-1"].UID()}">Verweis-Objekt</a>, '
            '<a href="resolveuid/0123456789abcdef0123456789abcdef">ins Leere</a>.</p>'
        )
        p[5].text = rich(
            f'<p><a href="resolveuid/{by_name["seite-ebene-5"].UID()}#nirgends">Ganz unten</a> '
            f'und <a href="resolveuid/{welcome.UID()}" data-linktype="internal" data-val="{welcome.UID()}">'
            "Willkommen</a>.</p>"
        )
        for n, page in enumerate(p[6:], start=7):
            page.text = rich(
                f"<p>Seite {n}: <strong>Ñandú</strong> <em>Größe</em> <code>日本語</code></p>"
                f"<blockquote>emoji 🧪 ×{n}</blockquote>"
            )

        # Relations.
        intids = getUtility(IIntIds)
        for source, targets in [
            (p[0], [p[1], img[0], f[4], events[0]]),
            (p[1], [p[0]]),
            (news[0], [by_name["archiv"], by_name["seite-ebene-5"]]),
            (events[1], [news[1]]),
            (by_name["a~b,c (d)"], [by_name["alle-seiten"]]),
        ]:
            source.relatedItems = [RelationValue(intids.getId(t)) for t in targets]
            updateRelations(source, None)
            by_role.setdefault("related", []).append(source)

        # Workflow: publish most containers and some items, one pending, the rest private.
        wftool = api.portal.get_tool("portal_workflow")
        for n, obj in enumerate(objects):
            if not wftool.getChainFor(obj) or obj in (intranet, protokoll, by_name["intern"]):
                continue
            if obj.portal_type in ("Folder", "Collection", "Link") or n % 3 == 0 or obj in (abgelaufen, zukunft):
                api.content.transition(obj, "publish", comment=f"Freigabe {n} – ✓")
                by_role.setdefault("published", []).append(obj)
            elif n % 3 == 1:
                api.content.transition(obj, "submit", comment="Bitte prüfen – ü")
                by_role.setdefault("pending", []).append(obj)
            else:
                by_role.setdefault("private", []).append(obj)

        # Deterministic dates and workflow history times, set last (nothing may touch them after).
        for n, obj in enumerate(objects):
            created = T0 + n / 24.0
            obj.creation_date = created
            history = getattr(aq_base(obj), "workflow_history", None) or {}
            for wf_id in list(history):
                history[wf_id] = tuple(dict(entry, time=created + k / 1440.0) for k, entry in enumerate(history[wf_id]))
            if getattr(aq_base(obj), "workflow_history", None) is not None:
                obj.workflow_history = history
            if obj.effective_date is not None:
                obj.effective_date = created + 0.5
            obj.modification_date = created + 1 + n / 1440.0
        abgelaufen.effective_date = DateTime("2024/02/01 00:00:00 Europe/Berlin")
        abgelaufen.expiration_date = DateTime("2025/01/01 00:00:00 UTC")
        zukunft.effective_date = DateTime("2099/01/01 12:00:00 America/Lima")
        zukunft.expiration_date = DateTime("2099/12/31 23:59:00 UTC")
        for obj in objects:
            obj.reindexObject(
                idxs=[
                    "created",
                    "modified",
                    "effective",
                    "expires",
                    "effectiveRange",
                    "review_state",
                    "is_default_page",
                    "getObjPositionInParent",
                ]
            )
        intranet.reindexObjectSecurity()
        protokoll.reindexObjectSecurity()
        nachrichten.reindexObjectSecurity()
    return {
        "objects": objects,
        "by_name": by_name,
        "by_role": by_role,
        "images": images,
        "files": files,
        "pages": pages,
        "events": events,
        "news": news,
    }
