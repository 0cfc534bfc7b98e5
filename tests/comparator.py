"""An independent comparator of two Plone sites, read only over plain HTTP through plone.restapi.

It imports nothing from senaite_style_sync and never touches a ZODB: what it reports is what any
REST client sees. Side ``a`` is the reference (the peer), side ``b`` the copy. Objects are matched by
UID; every URL in a value is first normalized (the site's URL -> ``{site}``, the compared root's URL
-> ``{root}``, ``@@images/<field>-<width>-<hash>`` -> ``<field>-<width>-HASH``). Categories:

missing/extra  UID listed (``@search``) only on a / only on b
path           path relative to the compared root
fields         every other JSON key except IGNORED, normalized
text           rich text as served (``data``, ``content-type``, ``encoding``), normalized
links          a Link's ``remoteUrl``, normalized
relations      relation fields (summaries with ``@id`` and ``@type``) as lists of target UIDs
blobs          file/image fields: downloaded bytes' sha256 and length, served Content-Type, and the
               JSON's filename, content-type, size, width, height, scales (normalized)
workflow       ``review_state``, state, review history (action, review_state, actor, time, comments)
order          children in ``getObjPositionInParent`` order, common ones outside the longest kept run
default_page   per container, the children with ``is_default_page``
layout         ``layout``
sharing        ``inherit`` and the local roles that are ``true`` in ``@sharing`` (see sharing_roles)
dates          created, modified, effective, expires (exact strings) and the catalog's ``modified``
error          the object could not be read on one side
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import requests


TIMEOUT = 60
PAGE = 200
DATES = ("created", "modified", "effective", "expires")
CATEGORIES = (
    "missing",
    "extra",
    "path",
    "fields",
    "text",
    "links",
    "relations",
    "blobs",
    "workflow",
    "order",
    "default_page",
    "layout",
    "sharing",
    "dates",
    "error",
)

#: Keys of an object's JSON that "fields" leaves out, each with the reason.
IGNORED = {
    "@id": "the object's URL: its site-relative form is compared as 'path'",
    "id": "the last segment of the path: compared as 'path'",
    "UID": "the key objects are matched by",
    "parent": "a summary of the parent: compared as 'path' (and the parent on its own)",
    "items": "the children (or a Collection's results): each child is compared on its own, their order as 'order'",
    "items_total": "the number of children: follows from 'missing'/'extra'",
    "batching": "paging links of 'items'",
    "previous_item": "a sibling's summary: follows from 'order' and from the sibling's own comparison",
    "next_item": "as previous_item",
    "lock": "this moment's lock (its creator, time, token), not content",
    "@components": "links to other endpoints; the expanded workflow is compared as 'workflow'",
    "allow_discussion": "computed from each site's discussion settings, not stored on the object",
    "review_state": "compared as 'workflow'",
    "layout": "compared as 'layout'",
    "remoteUrl": "compared as 'links'",
    **dict.fromkeys(DATES, "compared as 'dates'"),
}
# Rich text ('text'), files and images ('blobs') and relations ('relations') are recognised by their shape.

SCALE_HASH = re.compile(r"(@@images/[A-Za-z_]\w*-\d+)-[0-9a-f]+")


@dataclass(frozen=True)
class Difference:
    uid: str
    path: str
    category: str
    detail: str


class Site:
    """One side: a session, the compared root's URL and the placeholders for its URLs."""

    def __init__(self, url: str, auth: tuple[str, str], path: str) -> None:
        self.session = requests.Session()
        self.session.auth = auth
        self.session.headers["Accept"] = "application/json"
        self.url = self.get(url.rstrip("/"))["@id"].rstrip("/")
        self.root = f"{self.url}/{path.strip('/')}" if path.strip("/") else self.url
        marks = ((self.root, "{root}"), (self.url, "{site}")) if self.root != self.url else ((self.url, "{site}"),)
        self.patterns = [(re.compile(re.escape(u) + r"(?=[/?#\"'\s<>]|$)"), mark) for u, mark in marks]
        self.url_to_uid: dict[str, str] = {}

    def get(self, url: str, params: Any = None) -> Any:
        response = self.session.get(url, params=params, timeout=TIMEOUT)
        if not response.ok:  # the site's own account of the error, for a failure far from this machine
            raise requests.HTTPError(
                f"{response.status_code} for {response.url}: {response.text[:2000]}", response=response
            )
        return response.json()

    def search(self, url: str, params: list[tuple[str, str]]) -> list[dict]:
        """All results of ``@search`` below ``url`` (``params`` must sort uniquely), page by page."""
        items: list[dict] = []
        while True:
            page = self.get(f"{url}/@search", params + [("b_size", str(PAGE)), ("b_start", str(len(items)))])
            items += page["items"]
            if not page["items"] or len(items) >= page["items_total"]:
                return items

    def normalize(self, value: Any) -> Any:
        """``value`` with this site's URLs replaced by placeholders and image scale hashes removed."""
        if isinstance(value, str):
            for pattern, mark in self.patterns:
                value = pattern.sub(mark, value)
            return SCALE_HASH.sub(r"\1-HASH", value)
        if isinstance(value, list):
            return [self.normalize(v) for v in value]
        if isinstance(value, dict):
            return {k: self.normalize(v) for k, v in value.items()}
        return value

    def relpath(self, url: str) -> str:
        """``url`` relative to the compared root (unquoted), or normalized if it is not below it."""
        inside = url == self.root or url.startswith(self.root + "/")
        return unquote(url[len(self.root) :].lstrip("/")) if inside else self.normalize(url)

    def listing(self) -> dict[str, dict]:
        """Every object below the root by UID: its URL and catalog ``modified``."""
        params = [("sort_on", "UID"), ("metadata_fields", "UID"), ("metadata_fields", "modified")]
        # Only URLs below the root: a catalog may also hold entries of other sites (the test layer's does).
        found = {b["UID"]: b for b in self.search(self.root, params) if b["@id"].startswith(self.root + "/")}
        self.url_to_uid = {b["@id"]: uid for uid, b in found.items()}
        return found

    def read(self, url: str) -> dict:
        """The object's JSON with its expanded workflow and its ``@sharing``."""
        data = self.get(url, {"expand": "workflow"})
        response = self.session.get(f"{url}/@sharing", timeout=TIMEOUT)
        data["@sharing"] = response.json() if response.ok else {"status": response.status_code}
        return data

    def children(self, url: str) -> list[str]:
        """UIDs of the container's children in their order."""
        params = [("path.depth", "1"), ("sort_on", "getObjPositionInParent"), ("metadata_fields", "UID")]
        return [b["UID"] for b in self.search(url, params)]

    def default_pages(self) -> set[str]:
        params = [("is_default_page", "true"), ("sort_on", "UID"), ("metadata_fields", "UID")]
        return {b["UID"] for b in self.search(self.root, params)}

    def blob(self, value: dict) -> dict:
        """What identifies a file: its bytes' sha256 and size, name, type, and an image's scales."""
        response = self.session.get(value["download"], timeout=TIMEOUT)
        info = {k: v for k, v in value.items() if k != "download"}
        info.update(
            status=response.status_code,
            sha256=hashlib.sha256(response.content).hexdigest(),
            bytes=len(response.content),
            served_type=response.headers.get("Content-Type"),
        )
        return self.normalize(info)

    def relation(self, value: dict) -> str:
        """A relation's target: its UID (served, or known by its URL), else its normalized URL."""
        return value.get("UID") or self.url_to_uid.get(value["@id"]) or self.normalize(value["@id"])


def is_text(value: Any) -> bool:
    return isinstance(value, dict) and {"data", "content-type", "encoding"} <= set(value)


def is_blob(value: Any) -> bool:
    return isinstance(value, dict) and "download" in value and "filename" in value


def is_relation(value: Any) -> bool:
    def one(v: Any) -> bool:
        return isinstance(v, dict) and "@id" in v and "@type" in v and "download" not in v

    return one(value) or (isinstance(value, list) and bool(value) and all(one(v) for v in value))


def text_detail(a: str, b: str) -> str:
    """Where two texts first differ, with some context."""
    start = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"at {start}: {a[max(0, start - 40) : start + 60]!r} != {b[max(0, start - 40) : start + 60]!r}"


def short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 300 else text[:300] + "…"


def compare_object(uid: str, a: Site, b: Site, ja: dict, jb: dict) -> list[Difference]:
    """Every category but missing/extra/order/default_page for one object present on both sides."""
    path = a.relpath(ja["@id"])
    out: list[Difference] = []

    def diff(category: str, key: str, va: Any, vb: Any, detail: str | None = None) -> None:
        if va != vb:
            out.append(Difference(uid, path, category, f"{key}: {detail or f'{short(va)} != {short(vb)}'}"))

    diff("path", "path", path, b.relpath(jb["@id"]))
    for key in sorted(set(ja) | set(jb)):
        va, vb = ja.get(key), jb.get(key)
        if key in DATES:
            diff("dates", key, va, vb)
        elif key == "layout":
            diff("layout", key, va, vb)
        elif key == "remoteUrl":
            diff("links", key, a.normalize(va), b.normalize(vb))
        elif key == "review_state":
            diff("workflow", key, va, vb)
        elif key in IGNORED or key == "@sharing":
            continue
        elif is_text(va) or is_text(vb):
            ta, tb = a.normalize(va or {}), b.normalize(vb or {})
            diff(
                "text",
                key,
                ta,
                tb,
                text_detail(ta.get("data", ""), tb.get("data", "")) if ta.get("data") != tb.get("data") else None,
            )
        elif is_blob(va) or is_blob(vb):
            diff("blobs", key, a.blob(va) if is_blob(va) else va, b.blob(vb) if is_blob(vb) else vb)
        elif is_relation(va) or is_relation(vb):

            def targets(site: Site, v: Any) -> Any:
                return [site.relation(x) for x in v] if isinstance(v, list) else site.relation(v) if v else v

            diff("relations", key, targets(a, va), targets(b, vb))
        else:
            diff("fields", key, a.normalize(va), b.normalize(vb))
    wa, wb = (s.normalize(j.get("@components", {}).get("workflow", {})) for s, j in ((a, ja), (b, jb)))
    history = ("action", "review_state", "actor", "time", "comments")
    diff("workflow", "state", wa.get("state"), wb.get("state"))
    for n, (ha, hb) in enumerate(zip(wa.get("history", []), wb.get("history", []), strict=False)):
        diff("workflow", f"history[{n}]", {k: ha.get(k) for k in history}, {k: hb.get(k) for k in history})
    diff("workflow", "history length", len(wa.get("history", [])), len(wb.get("history", [])))
    sa, sb = ja["@sharing"], jb["@sharing"]
    diff("sharing", "status", sa.get("status"), sb.get("status"))
    diff("sharing", "inherit", sa.get("inherit"), sb.get("inherit"))
    (la, ma), (lb, mb) = sharing_roles(sa), sharing_roles(sb)
    diff(
        "sharing",
        "local roles",
        sorted(la - lb - mb),
        sorted(lb - la - ma),
        f"only on a {sorted(la - lb - mb)}, only on b {sorted(lb - la - ma)}",
    )
    return out


def sharing_roles(sharing: dict) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(principal, role) pairs given here (``true`` in @sharing), and the masked ones.

    @sharing shows a local role that the principal also has globally as "global", and one it also
    acquires as "acquired": whether it is given here too cannot be read. Such pairs are left out of
    the other side's comparison (a global role depends on each site's users; an acquired one is
    compared on the parent and as 'inherit')."""
    given, masked = set(), set()
    for entry in sharing.get("entries", []):
        for role, value in entry.get("roles", {}).items():
            if value is True:
                given.add((entry["id"], role))
            elif value in ("global", "acquired"):
                masked.add((entry["id"], role))
    return given, masked


def compare_order(path: str, ca: list[str], cb: list[str], paths: dict[str, str]) -> list[Difference]:
    """The common children of one container that are not in the longest run both keep in order."""
    common = set(ca) & set(cb)
    sa, sb = [u for u in ca if u in common], [u for u in cb if u in common]
    kept = {
        u
        for block in difflib.SequenceMatcher(None, sa, sb, autojunk=False).get_matching_blocks()
        for u in sa[block.a : block.a + block.size]
    }
    return [
        Difference(
            u,
            paths.get(u, u),
            "order",
            f"position {sa.index(u)} != {sb.index(u)} among the common children of {path or '/'}",
        )
        for u in sa
        if u not in kept
    ]


def compare_sites(
    url_a: str, url_b: str, auth_a: tuple[str, str], auth_b: tuple[str, str], *, path_a: str = "", path_b: str = ""
) -> list[Difference]:
    """All differences between the content below ``url_a/path_a`` and below ``url_b/path_b``."""
    a, b = Site(url_a, auth_a, path_a), Site(url_b, auth_b, path_b)
    la, lb = a.listing(), b.listing()
    out = [Difference(u, a.relpath(la[u]["@id"]), "missing", "not on b") for u in sorted(set(la) - set(lb))]
    out += [Difference(u, b.relpath(lb[u]["@id"]), "extra", "only on b") for u in sorted(set(lb) - set(la))]
    common = sorted(set(la) & set(lb))
    folders_a, folders_b = {"": a.root}, {"": b.root}
    for uid in common:
        path = a.relpath(la[uid]["@id"])
        try:
            ja, jb = a.read(la[uid]["@id"]), b.read(lb[uid]["@id"])
        except requests.RequestException as error:
            out.append(Difference(uid, path, "error", str(error)))
            continue
        out += compare_object(uid, a, b, ja, jb)
        if la[uid].get("modified") != lb[uid].get("modified"):
            out.append(
                Difference(
                    uid, path, "dates", f"catalog modified: {la[uid].get('modified')} != {lb[uid].get('modified')}"
                )
            )
        if ja.get("is_folderish") and jb.get("is_folderish"):
            folders_a[uid], folders_b[uid] = ja["@id"], jb["@id"]
    pages_a, pages_b = a.default_pages(), b.default_pages()
    paths = {uid: a.relpath(item["@id"]) for uid, item in la.items()}
    for uid, url in folders_a.items():
        ca, cb = a.children(url), b.children(folders_b[uid])
        path = a.relpath(url)
        out += compare_order(path, ca, cb, paths)
        da, db = [u for u in ca if u in pages_a], [u for u in cb if u in pages_b]
        if da != db:
            out.append(Difference(uid, path, "default_page", f"{da} != {db}"))
    return out


def summarize(differences: list[Difference]) -> dict[str, int]:
    """Category -> number of differences."""
    return dict(Counter(d.category for d in differences))


def format_differences(differences: list[Difference]) -> str:
    """One line per difference, grouped by category, then a summary line."""
    lines = [
        f"[{d.category}] {d.path or '/'} ({d.uid}): {d.detail}"
        for d in sorted(differences, key=lambda d: (CATEGORIES.index(d.category), d.path, d.detail))
    ]
    return "\n".join(lines + [f"{len(differences)} differences: {summarize(differences)}"])
