"""Tombstones: what this site deleted, kept so that a peer that still has it cannot bring it back.

Per UID: the revision the object had when it was deleted (and its ancestors; "" when it
had none), its path and type (for the change feed and the people reading them), and when.
Kept in a BTree on the site root; about the newest ``KEEP`` are kept.
"""

from datetime import datetime
from typing import NamedTuple

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from zope.annotation.interfaces import IAnnotations


ANNOTATION_KEY = "senaite_style_sync.tombstones"
COUNT_KEY = "senaite_style_sync.tombstones.count"
KEEP = 100_000
PRUNE = 1_000


class Tombstone(NamedTuple):
    revision: str
    ancestors: tuple[str, ...]
    path: str
    portal_type: str
    deleted: datetime  # aware, UTC

    def lineage(self) -> set[str]:
        return {self.revision, *self.ancestors}


class Tombstones:
    """The site's tombstones by UID; reading never writes."""

    def __init__(self, site) -> None:
        self.annotations = IAnnotations(site)

    def get(self, uid: str) -> Tombstone | None:
        tree = self.annotations.get(ANNOTATION_KEY)
        return tree.get(uid) if tree is not None else None

    def add(self, uid: str, tombstone: Tombstone) -> None:
        tree = self.annotations.get(ANNOTATION_KEY)
        if tree is None:
            tree = self.annotations[ANNOTATION_KEY] = OOBTree()
            self.annotations[COUNT_KEY] = Length()
        count = self.annotations[COUNT_KEY]
        if uid not in tree:
            count.change(1)
        tree[uid] = tombstone
        if count() > KEEP + PRUNE:  # the oldest go, a batch at a time (sorting them is not cheap)
            oldest = sorted(tree.items(), key=lambda item: item[1].deleted)[: count() - KEEP]
            for old_uid, _old in oldest:
                del tree[old_uid]
            count.change(-len(oldest))

    def remove(self, uid: str) -> None:
        tree = self.annotations.get(ANNOTATION_KEY)
        if tree is not None and uid in tree:
            del tree[uid]
            self.annotations[COUNT_KEY].change(-1)
