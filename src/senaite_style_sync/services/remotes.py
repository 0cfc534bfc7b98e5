"""@sync-remotes: list, create, read, edit, delete Remotes and test their connection.

    GET    @sync-remotes                              list
    POST   @sync-remotes                              create (201)
    GET    @sync-remotes/<name>                       read
    PATCH  @sync-remotes/<name>                       edit (204)
    DELETE @sync-remotes/<name>                       delete (204)
    POST   @sync-remotes/<name>/@test-connection      test the stored settings
    POST   @sync-remotes/<name>/@fetch                start a Fetch job (202; 409 while a job runs)
    POST   @sync-remotes/<name>/@import               start an Import job
    POST   @sync-remotes/<name>/@update               start a Get Updates job; {"since": "<ISO 8601>"}
                                                      re-reads what the peer modified since then
    GET    @sync-remotes/<name>/@conflicts            the remote's conflicts, both versions as JSON
    GET    @sync-remotes/<name>/@conflicts/<uid>      one conflict
    POST   @sync-remotes/<name>/@conflicts/<uid>      settle it: {"take": "remote"} or {"take": "local"}

A job's progress and outcome: GET @sync-jobs/<id> (services/jobs.py).
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

from senaite_style_sync.browser.actions import conflict_data
from senaite_style_sync.browser.actions import ConflictNotFound
from senaite_style_sync.browser.actions import get_conflict
from senaite_style_sync.browser.actions import InvalidSince
from senaite_style_sync.browser.actions import job_url
from senaite_style_sync.browser.actions import keep_local
from senaite_style_sync.browser.actions import normalise_since
from senaite_style_sync.browser.actions import take_remote
from senaite_style_sync.browser.actions import TAKE_CHOICES
from senaite_style_sync.jobs.runner import start_job
from senaite_style_sync.jobs.runner import active_job
from senaite_style_sync.jobs.runner import JobRefused
from senaite_style_sync.jobs.store import Job
from senaite_style_sync.peers.probe import check_connection
from senaite_style_sync.remotes.changes import create_remote
from senaite_style_sync.remotes.changes import delete_remote
from senaite_style_sync.remotes.changes import RemoteBusy
from senaite_style_sync.remotes.changes import edit_remote
from senaite_style_sync.remotes.changes import InvalidRemote
from senaite_style_sync.remotes.credentials import CredentialError
from senaite_style_sync.remotes.remote import Remote
from senaite_style_sync.remotes.schema import BOOL_FIELDS
from senaite_style_sync.remotes.schema import TEXT_FIELDS
from senaite_style_sync.remotes.schema import LIST_FIELDS
from senaite_style_sync.remotes.storage import RemoteStorage


TRIGGER = "rest"
STEP_ENDPOINTS = {"@fetch": "fetch", "@import": "import", "@update": "update"}
INT_FIELDS = ("auto_sync_interval", "max_delete_percent")
WRITABLE_FIELDS = frozenset(TEXT_FIELDS + BOOL_FIELDS + LIST_FIELDS + INT_FIELDS + ("password",))


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
        elif key in LIST_FIELDS and not (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        ):
            errors[key] = "Expected a list of strings."
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
        body, errors = self.read_json()
        return body, errors or body_errors(body)

    def read_json(self) -> tuple[dict[str, Any], dict[str, str]]:
        try:
            return json_body(self.request), {}
        except DeserializationError as error:
            return {}, {"body": f"Expected a JSON object: {error}."}

    def error(self, status: int, type_: str, message: str, **extra: Any) -> dict[str, Any]:
        self.request.response.setStatus(status)
        return {"error": {"type": type_, "message": message, **extra}}

    def conflicts_url(self, remote: Remote) -> str:
        return f"{self.base_url()}/{remote.name}/@conflicts"

    def serialize_conflict(self, remote: Remote, conflict) -> dict[str, Any]:
        return {"@id": f"{self.conflicts_url(remote)}/{conflict.remote_uid}", **conflict_data(conflict)}

    def named_conflict(self, remote: Remote, uid: str):
        try:
            return get_conflict(remote, uid)
        except ConflictNotFound:
            raise NotFound(f"No conflict for {uid!r} on remote {remote.name!r}.") from None

    def job_reply(self, job: Job) -> dict[str, Any]:
        return {"@id": job_url(self.context, job), "id": job.id, "remote": job.remote, "step": job.step,
                "since": job.since, "state": job.state}


class RemotesGet(RemotesService):
    def reply(self) -> Any:
        if not self.params:
            items = [self.serialize(remote) for remote in self.storage]
            return {"@id": self.base_url(), "items": items, "items_total": len(items)}
        if len(self.params) == 1:
            return self.serialize(self.named_remote())
        if self.params[1] == "@conflicts" and len(self.params) in (2, 3):
            remote = self.named_remote()
            if len(self.params) == 3:
                return self.serialize_conflict(remote, self.named_conflict(remote, self.params[2]))
            items = [self.serialize_conflict(remote, conflict) for conflict in remote.state.conflicts.values()]
            return {"@id": self.conflicts_url(remote), "items": items, "items_total": len(items)}
        raise NotFound("Unknown path.")


class RemotesPost(RemotesService):
    def reply(self) -> Any:
        if not self.params:
            return self.create()
        if len(self.params) == 2 and self.params[1] == "@test-connection":
            return self.test_connection(self.named_remote())
        if len(self.params) == 2 and self.params[1] in STEP_ENDPOINTS:
            return self.start(self.named_remote(), STEP_ENDPOINTS[self.params[1]])
        if len(self.params) == 3 and self.params[1] == "@conflicts":
            return self.settle(self.named_remote(), self.params[2])
        raise NotFound("Unknown path.")

    def start(self, remote: Remote, step: str) -> Any:
        """Start a job of ``step``: 202 and where to follow it, or 409 while another job of the remote runs."""
        body, errors = self.read_json()
        allowed = ("since",) if step == "update" else ()
        errors.update({key: "Unknown field." for key in body if key not in allowed})
        since = ""
        if not errors and body.get("since") not in (None, ""):
            try:
                since = normalise_since(body["since"])
            except InvalidSince as invalid:
                errors["since"] = str(invalid)
        if errors:
            return self.error(400, "BadRequest", "The request body is not valid.", errors=errors)
        try:
            job = start_job(self.context, remote, step, TRIGGER, since=since)
        except JobRefused as refused:
            running = active_job(self.context, remote)
            extra = {"job": job_url(self.context, running)} if running is not None else {}
            return self.error(409, "Conflict", str(refused), **extra)
        self.request.response.setStatus(202)
        self.request.response.setHeader("Location", job_url(self.context, job))
        return self.job_reply(job)

    def settle(self, remote: Remote, uid: str) -> Any:
        """Settle a conflict: take the peer's version (starts an Import) or keep the local one."""
        self.named_conflict(remote, uid)
        body, errors = self.read_json()
        take = body.get("take")
        if not errors:
            errors.update({key: "Unknown field." for key in body if key != "take"})
            if take not in TAKE_CHOICES:
                errors["take"] = 'Expected "remote" or "local".'
        if errors:
            return self.error(400, "BadRequest", "The request body is not valid.", errors=errors)
        if take == "local":
            return {"take": "local", "job": None, "message": keep_local(self.context, remote, uid, self.request)}
        job, message = take_remote(self.context, remote, uid, self.request, TRIGGER)
        if job is None:
            return {"take": "remote", "job": None, "message": message}
        self.request.response.setStatus(202)
        self.request.response.setHeader("Location", job_url(self.context, job))
        return {"take": "remote", "job": self.job_reply(job), "message": message}

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
        try:
            delete_remote(self.context, self.named_remote().name)
        except RemoteBusy as busy:
            return self.error(409, "Conflict", str(busy))
        return self.reply_no_content()
