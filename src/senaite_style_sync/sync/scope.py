"""Which of the peer's objects a remote takes, by its type rules."""

import hashlib
import json
from collections.abc import Iterable

from BTrees.OOBTree import OOBTree

from senaite_style_sync.model.remote import Remote
from senaite_style_sync.model.state import IndexEntry
from senaite_style_sync.peer.readers import ListingItem


class TypeRules:
    """The type rules of one remote."""

    def __init__(self, remote: Remote) -> None:
        self.full_sync = set(remote.full_sync_types)
        self.skipped = set(remote.skipped_types)
        self.update_only = set(remote.update_only_types)
        self.prefixable = set(remote.prefixable_types)
        self.readonly = set(remote.readonly_types)
        self.remote_prefix = remote.remote_prefix
        self.local_prefix = remote.local_prefix

    def role(self, item: ListingItem) -> str | None:
        """ "sync", "update-only" or None (not wanted for itself)."""
        portal_type = item.portal_type
        if portal_type in self.skipped:
            return None
        if portal_type in self.update_only:
            return "update-only" if item.id.startswith(self.local_prefix) else None
        if self.full_sync and portal_type not in self.full_sync:
            return None
        return "sync"

    def digest(self) -> str:
        """What the index depends on: another digest, another index (the peer is listed again)."""
        rules = [sorted(self.full_sync), sorted(self.skipped), sorted(self.update_only), self.local_prefix]
        return hashlib.sha1(json.dumps(rules).encode()).hexdigest()

    def local_id(self, remote_id: str, portal_type: str) -> str:
        if portal_type in self.prefixable:
            return f"{self.remote_prefix}-{remote_id}"
        return remote_id


def build_index(items: Iterable[ListingItem], rules: TypeRules) -> tuple[OOBTree, OOBTree]:
    """(uid -> IndexEntry, path -> uid) for wanted objects and the containers they need.

    Only path -> (uid, type, ...) tuples of the listing are held while scoping; wanted
    objects and their ancestors go into the BTrees.
    """
    by_path: dict[str, ListingItem] = {}
    wanted: list[tuple[ListingItem, str]] = []
    for item in items:
        by_path[item.path] = item
        role = rules.role(item)
        if role:
            wanted.append((item, role))
    index, paths = OOBTree(), OOBTree()

    def add(item: ListingItem, role: str) -> None:
        index[item.uid] = IndexEntry(
            item.path, item.portal_type, item.modified, item.review_state, item.position, role, item.meta
        )
        paths[item.path] = item.uid

    for item, role in wanted:
        add(item, role)
    for item, role in wanted:
        if role != "sync":
            continue  # update-only objects update their local originals in place
        parent_path = item.parent_path
        while parent_path and parent_path not in paths:
            parent = by_path.get(parent_path)
            if parent is None:
                break
            add(parent, "parent")
            parent_path = parent.parent_path
    return index, paths
