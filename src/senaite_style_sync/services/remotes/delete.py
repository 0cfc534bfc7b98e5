"""DELETE @sync-remotes/<name>: delete a Remote (204; 409 while its job runs)."""

from typing import Any

from senaite_style_sync.actions.remotes import RemoteBusy
from senaite_style_sync.actions.remotes import delete_remote
from senaite_style_sync.services.remotes.base import RemotesService


class RemotesDelete(RemotesService):
    routes = {"{name}": "delete"}

    def delete(self, name: str) -> Any:
        try:
            delete_remote(self.context, self.named_remote(name).name)
        except RemoteBusy as busy:
            return self.error(409, "Conflict", busy.args[0])
        return self.reply_no_content()
