"""Verify: compare every copy in scope with its original on the peer, category by category.

Both sides are compared as a site with this add-on serves them (served.py): the peer's
JSON as read, the local copy serialized the same way. URLs of either site that name a
synced object become ``<uid:UID>`` (the peer's UID), image scale URLs lose the hash that
only makes sense on one site, and files are compared by the sha256 of their bytes.
"""

import re
from collections import defaultdict
from typing import Any

from Acquisition import aq_base
from plone.app.textfield.interfaces import IRichText
from plone.namedfile.interfaces import INamedField

from senaite_style_sync.model.jobs import Job
from senaite_style_sync.peer import wire
from senaite_style_sync.peer.errors import PeerError
from senaite_style_sync.peer.readers import PeerReader
from senaite_style_sync.sync import served
from senaite_style_sync.sync.chunks import Checkpoints
from senaite_style_sync.sync.chunks import Guard
from senaite_style_sync.sync.fetched import Fetched
from senaite_style_sync.sync.fields import is_relation
from senaite_style_sync.sync.fields import schema_fields
from senaite_style_sync.sync.fingerprint import blob_sha256
from senaite_style_sync.sync.read_ahead import ReadAhead
from senaite_style_sync.sync.writer import Applier


# Keys compared in a category of their own, or that say nothing about the copy.
NOT_FIELDS = frozenset(
    {
        "@id",
        "UID",
        "id",
        "parent",
        "items",
        "items_total",
        "batching",
        "previous_item",
        "next_item",
        "lock",
        "@components",
        "allow_discussion",
        "review_state",
        "layout",
        "created",
        "modified",
        "effective",
        "expires",
        wire.SHARING_KEY,
        wire.STORED_FIELDS,
        "version",
        "working_copy",
        "working_copy_of",
    }
)
DATES = ("created", "modified", "effective", "expires")
HISTORY_KEYS = ("action", "review_state", "actor", "time", "comments")
SCALE_HASH = re.compile(r"(@@images/[\w-]+?-\d+)-[0-9a-f]+(\.\w+)")
RESOLVEUID = re.compile(r"resolveuid/([0-9a-zA-Z_-]+)")
DETAIL_CHARS = 300


def shorten(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"


class Verifier:
    """Compares local copies with the peer's objects for one remote."""

    def __init__(self, applier: Applier) -> None:
        self.applier = applier
        self.state = applier.state
        self.request = applier.request
        self.site = applier.site
        self.local_base = self.site.absolute_url()
        self.remote_uid = {synced.local_uid: uid for uid, synced in self.state.synced.items()}
        self._local_paths: dict[str, str | None] = {}

    # -- normalizing ---------------------------------------------------------------

    def peer_uid_of_local_path(self, path: str) -> str | None:
        if path not in self._local_paths:
            obj = self.site.unrestrictedTraverse(path, None) if path else None
            uid = obj.UID() if obj is not None and hasattr(aq_base(obj), "UID") else None
            self._local_paths[path] = self.remote_uid.get(uid, uid) if uid else None
        return self._local_paths[path]

    def normal_url_text(self, text: str, base: str, uid_of_path) -> str:
        """``text`` with URLs under ``base`` that name a synced object as ``<uid:UID>/rest``."""

        def replace(match: re.Match) -> str:
            segments = match.group(1).split("/")
            for cut in range(len(segments), 0, -1):
                uid = uid_of_path("/".join(segments[:cut]))
                if uid:
                    rest = "/".join(segments[cut:])
                    return f"<uid:{uid}>" + (f"/{rest}" if rest else "")
            return match.group(0)

        text = re.sub(re.escape(base.rstrip("/")) + r"/([^\s\"'<>?#,]*)", replace, text)
        return SCALE_HASH.sub(r"\1\2", text)

    def normal(self, value: Any, side: str) -> Any:
        """A JSON value with the site's URLs and UIDs made comparable with the other side's."""
        if isinstance(value, str):
            if side == "peer":
                return self.normal_url_text(value, self.applier.peer_base, self.state.paths.get)
            text = RESOLVEUID.sub(lambda m: f"resolveuid/{self.remote_uid.get(m.group(1), m.group(1))}", value)
            return self.normal_url_text(text, self.local_base, self.peer_uid_of_local_path)
        if isinstance(value, list):
            return [self.normal(item, side) for item in value]
        if isinstance(value, dict):
            return {key: self.normal(item, side) for key, item in value.items() if key != "UID"}
        return value

    # -- the local side -------------------------------------------------------------

    def local_view(self, obj, stored: bool) -> dict[str, Any]:
        """The copy as the peer's data was served: with rich text as stored where the peer's was."""
        return served.view(obj, self.request, stored)

    # -- comparing ----------------------------------------------------------------

    def differences(self, remote_uid: str, fetched: Fetched, obj) -> list[tuple[str, str]]:
        """(category, detail) for each way the copy ``obj`` differs from the peer's object."""
        peer = fetched.data
        local = self.local_view(obj, bool(peer.get(wire.STORED_FIELDS)))
        found: list[tuple[str, str]] = []
        fields = dict(schema_fields(obj))
        for key in sorted(set(peer) | set(local)):
            if key in NOT_FIELDS or key.startswith("@") and key != "@type":
                continue
            field = fields.get(key)
            if field is not None and is_relation(field):
                self.compare_relations(key, peer.get(key), obj, found)
            elif field is not None and INamedField.providedBy(field):
                self.compare_blob(key, peer.get(key), fetched, obj, found)
            else:
                category = "text" if field is not None and IRichText.providedBy(field) else "fields"
                self.compare(category, key, peer.get(key), local.get(key), found)
        for key in DATES:
            if peer.get(key) != local.get(key):
                found.append(("dates", f"{key}: peer {peer.get(key)}, here {local.get(key)}"))
        self.compare("layout", "layout", peer.get("layout"), local.get("layout"), found)
        self.compare_workflow(peer, local, found)
        self.compare_sharing(fetched.sharing, local.get(wire.SHARING_KEY) or {}, found)
        return found

    def compare(self, category: str, key: str, peer: Any, local: Any, found: list) -> None:
        if self.normal(peer, "peer") != self.normal(local, "local"):
            found.append((category, f"{key}: peer {shorten(peer)}, here {shorten(local)}"))

    def compare_relations(self, key: str, peer: Any, obj, found: list) -> None:
        items = peer if isinstance(peer, list) else [peer] if peer else []
        wanted = [item.get("UID") for item in items if isinstance(item, dict)]
        current = getattr(aq_base(obj), key, None)
        values = current if isinstance(current, list) else [current] if current else []
        here = [self.remote_uid.get(value.to_object.UID()) if value.to_object else None for value in values]
        if wanted != here:
            found.append(("relations", f"{key}: peer {wanted}, here {here}"))

    def compare_blob(self, key: str, peer: Any, fetched: Fetched, obj, found: list) -> None:
        value = getattr(aq_base(obj), key, None)
        if not peer or value is None:
            if bool(peer) != (value is not None):
                found.append(("blobs", f"{key}: {'only on the peer' if peer else 'only here'}"))
            return
        here = (value.filename, value.contentType, value.getSize())
        there = (peer.get("filename"), peer.get("content-type"), peer.get("size"))
        if here != there:
            found.append(("blobs", f"{key}: peer {there}, here {here}"))
        elif key in fetched.blob_files:
            if fetched.blob_hash(key) != blob_sha256(value):
                found.append(("blobs", f"{key}: the bytes differ (sha256)"))

    def compare_workflow(self, peer: dict, local: dict, found: list) -> None:
        if peer.get("review_state") != local.get("review_state"):
            found.append(
                ("workflow", f"review state: peer {peer.get('review_state')}, here {local.get('review_state')}")
            )

        def entries(data: dict) -> list:
            history = ((data.get("@components") or {}).get("workflow") or {}).get("history") or []
            return [{key: entry.get(key) for key in HISTORY_KEYS} for entry in history if isinstance(entry, dict)]

        if entries(peer) != entries(local):
            found.append(("workflow", f"review history: peer {shorten(entries(peer))}, here {shorten(entries(local))}"))

    def compare_sharing(self, peer: dict | None, local: dict, found: list) -> None:
        if peer is None:
            return

        def roles(sharing: dict) -> dict[str, list[str]]:
            return {
                entry["id"]: sorted(role for role, value in (entry.get("roles") or {}).items() if value is True)
                for entry in sharing.get("entries") or ()
                if isinstance(entry, dict) and isinstance(entry.get("id"), str)
            }

        there, here = {k: v for k, v in roles(peer).items() if v}, {k: v for k, v in roles(local).items() if v}
        if there != here or bool(peer.get("inherit", True)) != bool(local.get("inherit", True)):
            found.append(("local_roles", f"peer {there} (inherit {peer.get('inherit', True)}), here {here}"))

    def structure(self, uids: list[str]) -> dict[str, list[tuple[str, str]]]:
        """Path, position among synced siblings and default page of each copy: uid -> differences."""
        found: dict[str, list[tuple[str, str]]] = defaultdict(list)
        index = self.state.index
        by_parent: dict[str, list[str]] = defaultdict(list)
        for uid in uids:
            by_parent[index[uid].path.rpartition("/")[0]].append(uid)
        for parent_path, children in by_parent.items():
            copies = {uid: self.applier.copies.get(uid) for uid in children}
            container = self.applier.copies.get(self.state.paths.get(parent_path, "")) if parent_path else self.site
            ids = list(container.objectIds()) if container is not None else []
            present = [(ids.index(obj.getId()), uid) for uid, obj in copies.items() if obj and obj.getId() in ids]
            local_rank = {uid: rank for rank, (_position, uid) in enumerate(sorted(present))}
            peer_rank = {uid: rank for rank, uid in enumerate(sorted(children, key=lambda u: (index[u].position, u)))}
            for uid, obj in copies.items():
                entry = index[uid]
                if obj is None:
                    found[uid].append(("missing", "no copy here"))
                    continue
                expected_id = self.applier.rules.local_id(entry.id, entry.portal_type)
                if container is None or obj.aq_parent.getPhysicalPath() != container.getPhysicalPath():
                    found[uid].append(("path", f"not in the copy of {parent_path or 'the site root'}"))
                elif obj.getId() != expected_id:
                    found[uid].append(("path", f"id: peer {expected_id}, here {obj.getId()}"))
                elif local_rank.get(uid) != peer_rank[uid]:
                    found[uid].append(("position", f"peer {peer_rank[uid]}, here {local_rank.get(uid)}"))
                if obj.isPrincipiaFolderish:
                    page_uid = self.state.default_pages.get(uid)
                    page = self.applier.copies.get(page_uid) if page_uid else None
                    wanted = page.getId() if page is not None else None
                    if (getattr(aq_base(obj), "default_page", None) or None) != wanted:
                        here = getattr(aq_base(obj), "default_page", None)
                        found[uid].append(("default_page", f"peer {wanted}, here {here}"))
        return found


def verify(site, remote, job: Job, reader: PeerReader) -> None:
    """The "verify" step: every copy in scope compared with the peer; differences listed on the job."""
    applier = Applier(site, remote, site.REQUEST, reader.base)
    verifier = Verifier(applier)
    state = remote.state
    uids = [uid for uid, entry in state.index.items() if entry.role != "update-only" or uid in state.synced]
    extra = [uid for uid in state.synced.keys() if uid not in state.index]
    job.total = len(uids) + len(extra)
    structural = verifier.structure(uids)
    # Found again per chunk: a copy may move or go while a long Verify runs.
    applier.copies.forget()
    checkpoints = Checkpoints(job, applier.copies.forget, applier.copies.forget)

    def check(uid: str, item, guard: Guard) -> None:
        path = state.index[uid].path
        found = list(structural.get(uid, ()))
        obj = applier.copies.get(uid)
        if isinstance(item, PeerError):
            job.add_error(path, "read", str(item))
        elif obj is not None:
            guard(path, "verify", lambda: found.extend(verifier.differences(uid, item, obj)))
        for category, detail in found:
            job.add_difference(uid, path, category, detail)

    ReadAhead(reader, lambda uid: state.index[uid].path, {}).each(uids, checkpoints, check)

    def gone(uid: str, guard: Guard) -> None:
        job.add_difference(uid, state.synced[uid].remote_path, "extra", "the peer no longer lists it here")

    checkpoints.run(extra, gone)
