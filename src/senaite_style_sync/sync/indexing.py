"""Written objects are catalogued once, just before their chunk commits, with their link-integrity
references: a savepoint per object would otherwise pickle the catalog's buckets again and again."""

import re
from typing import Any

from plone.app.linkintegrity.handlers import modifiedContent
from plone.app.linkintegrity.interfaces import IRetriever

from senaite_style_sync.model.state import SyncState
from senaite_style_sync.sync.local import LocalSite


RESOLVEUID = re.compile(r"resolveuid/([^/?#]+)")
# In SyncState.pending_relations: the object's link-integrity references are to be made again.
LINKS = "@links"


def link_uids(obj) -> set[str]:
    """UIDs the object links to (``resolveuid`` links, as plone.app.linkintegrity reads them)."""
    retriever = IRetriever(obj, None)
    links = retriever.retrieveLinks() if retriever is not None else ()
    return {uid for link in links for uid in RESOLVEUID.findall(link)}


class IndexQueue:
    """The objects written since the last flush, to catalogue."""

    def __init__(self, local: LocalSite, state: SyncState) -> None:
        self.local = local
        self.state = state
        self._queued: list[tuple[str, Any, bool, bool]] = []  # (remote UID, object, security changed, created)

    def add(self, remote_uid: str, obj, *, security_changed: bool = False, created: bool = False) -> None:
        self._queued.append((remote_uid, obj, security_changed, created))

    def __len__(self) -> int:
        return len(self._queued)

    def clear(self) -> None:
        self._queued.clear()

    def truncate(self, length: int) -> None:
        """Drop what was queued after the queue had ``length`` objects."""
        del self._queued[length:]

    def flush(self, *, keep: bool = False) -> None:
        """Catalog the queued objects (and their link-integrity references).

        ``keep`` leaves them queued, to be catalogued again at the chunk's end: for a flush
        inside one object's write, which a failure of that object would roll back.
        """
        for _remote_uid, obj, security_changed, created in self._queued:
            self.local.index(obj, created=created)
            if security_changed:
                obj.reindexObjectSecurity()
        # Link integrity finds link targets in the catalog: after the whole batch is in it.
        for remote_uid, obj, _security_changed, created in self._queued:
            links = link_uids(obj)
            if links or not created:  # a new object without links has no references to update
                modifiedContent(obj, None)
            if any(self.local.by_uid(uid) is None for uid in links):
                # A link to an object not written yet: link integrity would take the folder for
                # it. Its references are made again in the second pass, once all are here.
                pending = dict(self.state.pending_relations.get(remote_uid) or {})
                self.state.pending_relations[remote_uid] = pending | {LINKS: []}
        if not keep:
            self._queued.clear()
