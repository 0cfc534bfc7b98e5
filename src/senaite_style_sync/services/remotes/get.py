"""GET @sync-remotes: the Remotes, one Remote, its conflicts."""

from typing import Any

from senaite_style_sync.services.remotes.base import RemotesService


class RemotesGet(RemotesService):
    routes = {
        "": "list_remotes",
        "{name}": "read",
        "{name}/@conflicts": "conflicts",
        "{name}/@conflicts/{uid}": "conflict",
    }

    def list_remotes(self) -> dict[str, Any]:
        items = [self.serialize(remote) for remote in self.storage]
        return {"@id": self.base_url(), "items": items, "items_total": len(items)}

    def read(self, name: str) -> dict[str, Any]:
        return self.serialize(self.named_remote(name))

    def conflicts(self, name: str) -> dict[str, Any]:
        remote = self.named_remote(name)
        items = [self.serialize_conflict(remote, conflict) for conflict in remote.state.conflicts.values()]
        return {"@id": self.conflicts_url(remote), "items": items, "items_total": len(items)}

    def conflict(self, name: str, uid: str) -> dict[str, Any]:
        remote = self.named_remote(name)
        return self.serialize_conflict(remote, self.named_conflict(remote, uid))
