"""Where the peer's objects are here: the remote's state maps peer UIDs and paths to copies."""

from typing import Any

from senaite_style_sync.model.state import SyncState
from senaite_style_sync.sync.local import LocalSite
from senaite_style_sync.sync.placing import ApplyError


class Copies:
    """The copies of one remote's objects here, by peer UID or path.

    What is found is kept until the chunk is catalogued or something moves or goes: each find
    costs an index lookup and a traversal, and the writer asks for the same folders again and
    again.
    """

    def __init__(self, site, state: SyncState, local: LocalSite) -> None:
        self.site = site
        self.state = state
        self.local = local
        self._found: dict[str, Any] = {}  # peer UID -> its copy here

    def forget(self) -> None:
        """Objects moved or went, or the transaction was aborted: what was found is stale."""
        self._found.clear()

    def keep(self, remote_uid: str, obj) -> None:
        self._found[remote_uid] = obj

    def get(self, remote_uid: str):
        """The copy of ``remote_uid`` here; None when there is none."""
        obj = self._found.get(remote_uid)
        if obj is None:
            entry = self.state.index.get(remote_uid)
            obj = self.local.find(remote_uid, self.state.synced.get(remote_uid), entry.portal_type if entry else None)
            if obj is not None:
                self._found[remote_uid] = obj
        return obj

    def container_for(self, path: str):
        """The copy of the folder the peer's ``path`` is in (the site for a top-level object)."""
        parent_path = path.rpartition("/")[0]
        if not parent_path:
            return self.site
        parent_uid = self.state.paths.get(parent_path)
        container = self.get(parent_uid) if parent_uid else None
        if container is None:
            raise ApplyError(f"Its parent {parent_path!r} is not here (not synced, or failed).")
        return container

    def uid_for_path(self, path: str) -> str | None:
        """The UID here of the copy of the peer's ``path``; None outside the scope."""
        remote_uid = self.state.paths.get(path)
        if remote_uid is None:
            return None
        synced = self.state.synced.get(remote_uid)
        return synced.local_uid if synced else remote_uid

    def local_uid(self, remote_uid: str) -> str | None:
        """The UID the copy of a peer object has (or will have) here; None outside the scope."""
        synced = self.state.synced.get(remote_uid)
        if synced is not None:
            return synced.local_uid
        return remote_uid if remote_uid in self.state.index else None
