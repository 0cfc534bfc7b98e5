"""PATCH @sync-remotes/<name>: change a Remote's settings (204)."""

from typing import Any

from senaite_style_sync import _
from senaite_style_sync.actions.remotes import InvalidRemote
from senaite_style_sync.actions.remotes import edit_remote
from senaite_style_sync.services.remotes.base import RemotesService


class RemotesPatch(RemotesService):
    routes = {"{name}": "edit"}

    def edit(self, name: str) -> Any:
        remote = self.named_remote(name)
        body, errors = self.read_body()
        if not errors and body.get("name", remote.name) != remote.name:
            errors["name"] = _("The Domain Name of a remote cannot be changed.")
        if errors:
            return self.bad_request(errors)
        try:
            edit_remote(remote, body)
        except InvalidRemote as invalid:
            return self.refused(invalid)
        return self.reply_no_content()
