"""What the @sync-remotes services share: the path after the endpoint, bodies, errors, serializing."""

from typing import Any

from plone.protect.interfaces import IDisableCSRFProtection
from plone.restapi.deserializer import json_body
from plone.restapi.exceptions import DeserializationError
from zExceptions import NotFound
from zope.interface import alsoProvides

from senaite_style_sync import _
from senaite_style_sync.actions.conflicts import ConflictNotFound
from senaite_style_sync.actions.conflicts import conflict_data
from senaite_style_sync.actions.conflicts import get_conflict
from senaite_style_sync.actions.jobs import job_url
from senaite_style_sync.actions.messages import translated
from senaite_style_sync.actions.remotes import InvalidRemote
from senaite_style_sync.actions.remotes import ManagerOnly
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.remote import Remote
from senaite_style_sync.model.schema import BOOL_FIELDS
from senaite_style_sync.model.schema import LIST_FIELDS
from senaite_style_sync.model.schema import SECRET_FIELDS
from senaite_style_sync.model.schema import TEXT_FIELDS
from senaite_style_sync.model.state import Conflict
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.services.traversal import PathService


TRIGGER = "rest"
INT_FIELDS = ("auto_sync_interval", "max_delete_percent")
WRITABLE_FIELDS = frozenset(TEXT_FIELDS + BOOL_FIELDS + LIST_FIELDS + INT_FIELDS + SECRET_FIELDS)
UNKNOWN_FIELD = _("Unknown field.")


def match(pattern: str, params: list[str]) -> dict[str, str] | None:
    """The ``{placeholders}`` of ``pattern`` (segments joined by "/") in ``params``; None if no match."""
    parts = pattern.split("/") if pattern else []
    if len(parts) != len(params):
        return None
    args = {}
    for part, value in zip(parts, params, strict=False):
        if part.startswith("{"):
            args[part[1:-1]] = value
        elif part != value:
            return None
    return args


def body_errors(body: dict[str, Any]) -> dict[str, str]:
    """Type errors in a JSON body, before the Remote's own validation runs."""
    errors = {}
    for key, value in body.items():
        if key not in WRITABLE_FIELDS:
            errors[key] = UNKNOWN_FIELD
        elif key in TEXT_FIELDS + SECRET_FIELDS and not isinstance(value, str):
            errors[key] = _("Expected a string.")
        elif key in BOOL_FIELDS and not isinstance(value, bool):
            errors[key] = _("Expected true or false.")
        elif key in LIST_FIELDS and not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
            errors[key] = _("Expected a list of strings.")
    return errors


class RemotesService(PathService):
    """Collects the path after @sync-remotes into ``self.params``."""

    def render(self):
        # As plone.restapi's own write services do: a JSON API request cannot carry a form
        # token, and plone.rest only dispatches requests that ask for JSON, which a
        # cross-site HTML form cannot send.
        alsoProvides(self.request, IDisableCSRFProtection)
        return super().render()

    # path after @sync-remotes -> method; "{name}" matches any one segment and is passed on
    routes: dict[str, str] = {}

    def reply(self) -> Any:
        for pattern, method in self.routes.items():
            args = match(pattern, self.params)
            if args is not None:
                return getattr(self, method)(**args)
        raise NotFound(self.translated(_("Unknown path.")))

    @property
    def storage(self) -> RemoteStorage:
        return RemoteStorage(self.context)

    def base_url(self) -> str:
        return f"{self.context.absolute_url()}/@sync-remotes"

    def named_remote(self, name: str) -> Remote:
        remote = self.storage.get(name)
        if remote is None:
            raise NotFound(self.translated(_("No remote named '${name}'.", mapping={"name": name})))
        return remote

    def serialize(self, remote: Remote) -> dict[str, Any]:
        return {
            "@id": f"{self.base_url()}/{remote.name}",
            **remote.settings(),
            "has_password": remote.has_password,
            "has_bundle_key": remote.has_bundle_key,
            "last_runs": {
                step: {"time": run["time"].isoformat(), "outcome": run["outcome"], "count": run["count"]}
                for step, run in remote.last_runs.items()
            },
        }

    def translated(self, text: str) -> str:
        """A message (or an English text of the layers below) in the request's language."""
        return translated(text, self.request)

    def bad_request(self, errors: dict[str, str]) -> dict[str, Any]:
        return self.error(400, "BadRequest", _("The remote's settings are not valid."), errors=errors)

    def refused(self, invalid: InvalidRemote) -> dict[str, Any]:
        """400 for invalid settings; 403 for a change only a Manager may make."""
        if isinstance(invalid, ManagerOnly):
            return self.error(403, "Forbidden", " ".join(invalid.errors.values()), errors=invalid.errors)
        return self.bad_request(invalid.errors)

    def read_body(self) -> tuple[dict[str, Any], dict[str, str]]:
        body, errors = self.read_json()
        return body, errors or body_errors(body)

    def read_json(self) -> tuple[dict[str, Any], dict[str, str]]:
        try:
            return json_body(self.request), {}
        except DeserializationError as error:
            return {}, {"body": _("Expected a JSON object: ${reason}.", mapping={"reason": str(error)})}

    def error(self, status: int, type_: str, message: str, **extra: Any) -> dict[str, Any]:
        """An error reply; its message and the messages of its ``errors`` in the request's language."""
        self.request.response.setStatus(status)
        if "errors" in extra:
            extra["errors"] = {key: self.translated(text) for key, text in extra["errors"].items()}
        return {"error": {"type": type_, "message": self.translated(message), **extra}}

    def conflicts_url(self, remote: Remote) -> str:
        return f"{self.base_url()}/{remote.name}/@conflicts"

    def serialize_conflict(self, remote: Remote, conflict) -> dict[str, Any]:
        return {"@id": f"{self.conflicts_url(remote)}/{conflict.remote_uid}", **conflict_data(conflict)}

    def named_conflict(self, remote: Remote, uid: str) -> Conflict:
        try:
            return get_conflict(remote, uid)
        except ConflictNotFound:
            raise NotFound(
                self.translated(
                    _("No conflict for '${uid}' on remote '${name}'.", mapping={"uid": uid, "name": remote.name})
                )
            ) from None

    def job_reply(self, job: Job) -> dict[str, Any]:
        return {
            "@id": job_url(self.context, job),
            "id": job.id,
            "remote": job.remote,
            "step": job.step,
            "since": job.since,
            "state": job.state,
        }
