"""@sync-remotes: list, create, read, edit, delete Remotes and test their connection.

    GET    @sync-remotes                              list
    POST   @sync-remotes                              create (201)
    GET    @sync-remotes/<name>                       read
    PATCH  @sync-remotes/<name>                       edit (204)
    DELETE @sync-remotes/<name>                       delete (204)
    POST   @sync-remotes/<name>/@test-connection      test the stored settings

The password is write-only: it is accepted in POST/PATCH and never returned.
"""

from typing import Any

from plone.restapi.deserializer import json_body
from plone.restapi.exceptions import DeserializationError
from plone.restapi.services import Service
from zExceptions import BadRequest
from zExceptions import NotFound
from plone.protect.interfaces import IDisableCSRFProtection
from zope.interface import alsoProvides
from zope.interface import implementer
from zope.publisher.interfaces import IPublishTraverse

from senaite_style_sync.peers.probe import check_connection
from senaite_style_sync.remotes.changes import create_remote
from senaite_style_sync.remotes.changes import edit_remote
from senaite_style_sync.remotes.changes import InvalidRemote
from senaite_style_sync.remotes.credentials import CredentialError
from senaite_style_sync.remotes.remote import Remote
from senaite_style_sync.remotes.schema import BOOL_FIELDS
from senaite_style_sync.remotes.schema import TEXT_FIELDS
from senaite_style_sync.remotes.schema import TYPE_RULE_FIELDS
from senaite_style_sync.remotes.storage import RemoteStorage


WRITABLE_FIELDS = frozenset(TEXT_FIELDS + BOOL_FIELDS + TYPE_RULE_FIELDS + ("auto_sync_interval", "password"))


def body_errors(body: dict[str, Any]) -> dict[str, str]:
    """Type errors in a JSON body, before the Remote's own validation runs."""
    errors = {}
    for key, value in body.items():
        if key not in WRITABLE_FIELDS:
            errors[key] = "Unknown field."
        elif key in TEXT_FIELDS + ("password",) and not isinstance(value, str):
            errors[key] = "Expected a string."
        elif key in BOOL_FIELDS and not isinstance(value, bool):
            errors[key] = "Expected true or false."
        elif key in TYPE_RULE_FIELDS and not (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        ):
            errors[key] = "Expected a list of content type names."
    return errors


@implementer(IPublishTraverse)
class RemotesService(Service):
    """Collects the path after @sync-remotes into ``self.params``."""

    def __init__(self, context, request) -> None:
        super().__init__(context, request)
        self.params: list[str] = []

    def render(self):
        # As plone.restapi's own write services do: a JSON API request cannot carry a form
        # token, and plone.rest only dispatches requests that ask for JSON, which a
        # cross-site HTML form cannot send.
        alsoProvides(self.request, IDisableCSRFProtection)
        return super().render()

    def publishTraverse(self, request, name: str):
        self.params.append(name)
        return self

    @property
    def storage(self) -> RemoteStorage:
        return RemoteStorage(self.context)

    def base_url(self) -> str:
        return f"{self.context.absolute_url()}/@sync-remotes"

    def named_remote(self) -> Remote:
        name = self.params[0]
        remote = self.storage.get(name)
        if remote is None:
            raise NotFound(f"No remote named {name!r}.")
        return remote

    def serialize(self, remote: Remote) -> dict[str, Any]:
        return {
            "@id": f"{self.base_url()}/{remote.name}",
            **remote.settings(),
            "has_password": remote.has_password,
            "last_runs": {
                step: {"time": run["time"].isoformat(), "outcome": run["outcome"], "count": run["count"]}
                for step, run in remote.last_runs.items()
            },
        }

    def bad_request(self, errors: dict[str, str]) -> dict[str, Any]:
        self.request.response.setStatus(400)
        return {
            "error": {
                "type": "BadRequest",
                "message": "The remote's settings are not valid.",
                "errors": errors,
            }
        }

    def read_body(self) -> tuple[dict[str, Any], dict[str, str]]:
        try:
            body = json_body(self.request)
        except DeserializationError as error:
            return {}, {"body": f"Expected a JSON object: {error}."}
        return body, body_errors(body)


class RemotesGet(RemotesService):
    def reply(self) -> Any:
        if not self.params:
            items = [self.serialize(remote) for remote in self.storage]
            return {"@id": self.base_url(), "items": items, "items_total": len(items)}
        if len(self.params) == 1:
            return self.serialize(self.named_remote())
        raise NotFound("Unknown path.")


class RemotesPost(RemotesService):
    def reply(self) -> Any:
        if not self.params:
            return self.create()
        if len(self.params) == 2 and self.params[1] == "@test-connection":
            return self.test_connection(self.named_remote())
        raise NotFound("Unknown path.")

    def create(self) -> Any:
        body, errors = self.read_body()
        if errors:
            return self.bad_request(errors)
        try:
            remote = create_remote(self.context, body)
        except InvalidRemote as invalid:
            return self.bad_request(invalid.errors)
        self.request.response.setStatus(201)
        self.request.response.setHeader("Location", f"{self.base_url()}/{remote.name}")
        return self.serialize(remote)

    def test_connection(self, remote: Remote) -> Any:
        try:
            password = remote.password()
        except CredentialError as error:
            return {"ok": False, "code": "credentials", "message": str(error)}
        report = check_connection(remote.url, remote.username, password, remote.certificate_path)
        return {"ok": report.ok, "code": report.code, "message": report.message}


class RemotesPatch(RemotesService):
    def reply(self) -> Any:
        if len(self.params) != 1:
            raise BadRequest("PATCH needs a remote: @sync-remotes/<name>.")
        remote = self.named_remote()
        body, errors = self.read_body()
        if not errors and body.get("name", remote.name) != remote.name:
            errors["name"] = "The Domain Name of a remote cannot be changed."
        if errors:
            return self.bad_request(errors)
        try:
            edit_remote(remote, body)
        except InvalidRemote as invalid:
            return self.bad_request(invalid.errors)
        return self.reply_no_content()


class RemotesDelete(RemotesService):
    def reply(self) -> Any:
        if len(self.params) != 1:
            raise BadRequest("DELETE needs a remote: @sync-remotes/<name>.")
        self.storage.delete(self.named_remote().name)
        return self.reply_no_content()
