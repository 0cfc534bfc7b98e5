"""Revisions: what tells which site changed an object, and what each site has already seen.

A revision is an id made of the site that made it (its origin), the object's fingerprint
then, and the revision it was made from; with it, each copy keeps the ids of the revisions
it descends from (its ancestors). The sync writes the peer's revision onto the copy it
writes, and a site with this add-on serves the current revision of each object it serves.

The current revision of an object is the one stored on it while its fingerprint is the one
stored with it; once it was edited here, it is a new revision with this site as origin and
the stored one as parent, computed (the same every time) and stored when it is next served
to a peer (so that what a peer has is always a stored revision) or written by the sync.
Comparing the peer's revision with the local one tells, as CouchDB's revision trees do:

``same``      both have the same version: nothing to write (no echo between sites)
``behind``    the peer's is one this copy descends from: the peer has not seen ours yet
``ahead``     the peer's descends from this one: the peer built on it, take it
``diverged``  both changed since their common ancestor (or share none): a conflict
"""

import hashlib
from dataclasses import dataclass
from dataclasses import field
from itertools import chain
from itertools import zip_longest
from typing import Any

from Acquisition import aq_base
from persistent.mapping import PersistentMapping
from plone.protect.utils import safeWrite
from zope.annotation.interfaces import IAnnotations

from senaite_style_sync.sync.fingerprint import fingerprint


REVISION_KEY = "senaite_style_sync.revision"
# The ancestors each revision keeps: enough to recognise what a peer may still have.
KEPT_ANCESTORS = 100


def revision_id(origin: str, print_: str, parents: list[str]) -> str:
    return hashlib.sha1(f"{origin}\n{print_}\n{' '.join(sorted(parents))}".encode()).hexdigest()


@dataclass(frozen=True)
class Revision:
    id: str
    origin: str
    ancestors: tuple[str, ...] = ()
    fingerprint: str = field(default="", compare=False)  # of the local object it was stored with

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "origin": self.origin, "ancestors": list(self.ancestors)}

    def lineage(self) -> set[str]:
        return {self.id, *self.ancestors}


def from_json(value: Any) -> Revision | None:
    """The revision a peer serves (``@revision``); None when it serves none, or no valid one."""
    if not isinstance(value, dict):
        return None
    rev, origin, ancestors = value.get("id"), value.get("origin"), value.get("ancestors")
    if not (isinstance(rev, str) and isinstance(origin, str) and isinstance(ancestors, list)):
        return None
    return Revision(rev[:64], origin[:64], tuple(str(item)[:64] for item in ancestors[:KEPT_ANCESTORS]))


def stored_revision(obj) -> Revision | None:
    annotations = IAnnotations(obj, None)
    data = annotations.get(REVISION_KEY) if annotations is not None else None
    if not data:
        return None
    return Revision(data["id"], data["origin"], tuple(data["ancestors"]), data["fingerprint"])


def current_revision(obj, site_id: str, print_: str | None = None) -> Revision:
    """The object's revision now (see the module's docstring); ``print_``: its fingerprint, if known."""
    print_ = fingerprint(obj) if print_ is None else print_
    stored = stored_revision(obj)
    if stored is not None and stored.fingerprint == print_:
        return stored
    parents = [stored.id] if stored is not None else []
    ancestors = (stored.id, *stored.ancestors)[:KEPT_ANCESTORS] if stored is not None else ()
    return Revision(revision_id(site_id, print_, parents), site_id, ancestors, print_)


def store_revision(obj, revision: Revision, print_: str) -> None:
    """Keep ``revision`` as the object's, with the fingerprint the object has now."""
    annotations = IAnnotations(obj)
    data = annotations.get(REVISION_KEY)
    new = {"id": revision.id, "origin": revision.origin, "ancestors": list(revision.ancestors), "fingerprint": print_}
    if data is None or dict(data) != new:
        annotations[REVISION_KEY] = PersistentMapping(new)
        for written in (annotations[REVISION_KEY], getattr(aq_base(obj), "__annotations__", None), aq_base(obj)):
            safeWrite(written)  # a GET (serving the revision) may write this


def served_revision(obj, site_id: str) -> Revision:
    """The revision to serve: the current one, kept on the object first if it was only computed.

    Edits made here after it then descend from it: a copy made from it recognises them as
    newer, where two computed revisions of the same object would have no common ancestor.
    (Served on a GET: the write is marked as one the request may do.)
    """
    print_ = fingerprint(obj)
    revision = current_revision(obj, site_id, print_)
    if revision != stored_revision(obj):
        store_revision(obj, revision, print_)
    return revision


def merged(local: Revision, remote: Revision, site_id: str, print_: str) -> Revision:
    """A revision of this site that descends from both: settles a conflict for the local version.

    Its ancestors take turns from both sides, most recent first, so that a long history on one
    side does not push the other side's recent revisions out of the kept ones."""
    taking_turns = chain.from_iterable(zip_longest(local.ancestors, remote.ancestors))
    lineage = [local.id, remote.id, *(ancestor for ancestor in taking_turns if ancestor is not None)]
    ancestors = tuple(dict.fromkeys(lineage))[:KEPT_ANCESTORS]
    return Revision(revision_id(site_id, print_, [local.id, remote.id]), site_id, ancestors, print_)


def relation(local: Revision, remote: Revision) -> str:
    """How the peer's revision stands to the local one: same, behind, ahead or diverged."""
    if remote.id == local.id:
        return "same"
    if remote.id in local.ancestors:
        return "behind"
    if local.id in remote.ancestors:
        return "ahead"
    return "diverged"


def in_step(obj) -> bool:
    """Is ``obj`` still the version whose revision it carries (not edited here since)? Then a
    change the sync makes on the peer's behalf (a move, a default page, relations) is part
    of that revision; otherwise it must not fold a local edit into the peer's revision."""
    stored = stored_revision(obj)
    return stored is not None and stored.fingerprint == fingerprint(obj)
