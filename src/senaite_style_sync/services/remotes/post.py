"""POST @sync-remotes: create a Remote, test its connection, start its steps, settle a conflict."""

from typing import Any

from senaite_style_sync import _
from senaite_style_sync.actions.conflicts import TAKE_CHOICES
from senaite_style_sync.actions.conflicts import NotMergeable
from senaite_style_sync.actions.conflicts import keep_local
from senaite_style_sync.actions.conflicts import merge
from senaite_style_sync.actions.conflicts import take_remote
from senaite_style_sync.actions.jobs import InvalidSince
from senaite_style_sync.actions.jobs import job_url
from senaite_style_sync.actions.jobs import normalise_since
from senaite_style_sync.actions.remotes import InvalidRemote
from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.jobs.runner import JobRefused
from senaite_style_sync.jobs.runner import active_job
from senaite_style_sync.jobs.runner import start_job
from senaite_style_sync.model.credentials import CredentialError
from senaite_style_sync.model.remote import Remote
from senaite_style_sync.model.validation import certificate_error
from senaite_style_sync.model.validation import cleartext_warning
from senaite_style_sync.peer.probe import check_connection
from senaite_style_sync.services.remotes.base import TRIGGER
from senaite_style_sync.services.remotes.base import UNKNOWN_FIELD
from senaite_style_sync.services.remotes.base import RemotesService


BODY_NOT_VALID = _("The request body is not valid.")


class RemotesPost(RemotesService):
    routes = {
        "": "create",
        "{name}/@test-connection": "test_connection",
        "{name}/@fetch": "fetch",
        "{name}/@import": "import_",
        "{name}/@update": "update",
        "{name}/@verify": "verify",
        "{name}/@conflicts/{uid}": "settle",
    }

    def fetch(self, name: str) -> Any:
        return self.start(self.named_remote(name), "fetch")

    def import_(self, name: str) -> Any:
        return self.start(self.named_remote(name), "import")

    def update(self, name: str) -> Any:
        return self.start(self.named_remote(name), "update")

    def verify(self, name: str) -> Any:
        return self.start(self.named_remote(name), "verify")

    def start(self, remote: Remote, step: str) -> Any:
        """Start a job of ``step``: 202 and where to follow it, or 409 while another job of the remote runs."""
        body, errors = self.read_json()
        allowed = ("since",) if step == "update" else ()
        errors.update({key: UNKNOWN_FIELD for key in body if key not in allowed})
        since = ""
        if not errors and body.get("since") not in (None, ""):
            try:
                since = normalise_since(body["since"])
            except InvalidSince as invalid:
                errors["since"] = invalid.args[0]
        if errors:
            return self.error(400, "BadRequest", BODY_NOT_VALID, errors=errors)
        try:
            job = start_job(self.context, remote, step, TRIGGER, since=since)
        except JobRefused as refused:
            running = active_job(self.context, remote)
            extra = {"job": job_url(self.context, running)} if running is not None else {}
            return self.error(409, "Conflict", str(refused), **extra)
        self.request.response.setStatus(202)
        self.request.response.setHeader("Location", job_url(self.context, job))
        return self.job_reply(job)

    def settle(self, name: str, uid: str) -> Any:
        """Settle a conflict: take the peer's version (starts an Import) or keep the local one."""
        remote = self.named_remote(name)
        self.named_conflict(remote, uid)
        body, errors = self.read_json()
        take = body.get("take")
        if not errors:
            errors.update({key: UNKNOWN_FIELD for key in body if key not in ("take", "fields")})
            if take not in TAKE_CHOICES:
                errors["take"] = _('Expected "remote", "local" or "fields".')
            elif "fields" in body and take != "fields":
                errors["fields"] = UNKNOWN_FIELD
        if errors:
            return self.error(400, "BadRequest", BODY_NOT_VALID, errors=errors)
        if take == "fields":
            try:
                message = merge(self.context, remote, uid, body.get("fields"), self.request)
            except NotMergeable as refused:
                return self.error(
                    400, "BadRequest", BODY_NOT_VALID, errors={"fields": self.translated(refused.args[0])}
                )
            return {"take": "fields", "job": None, "message": self.translated(message)}
        if take == "local":
            message = keep_local(self.context, remote, uid, self.request)
            return {"take": "local", "job": None, "message": self.translated(message)}
        job, message = take_remote(self.context, remote, uid, self.request, TRIGGER)
        if job is None:
            return {"take": "remote", "job": None, "message": self.translated(message)}
        self.request.response.setStatus(202)
        self.request.response.setHeader("Location", job_url(self.context, job))
        return {"take": "remote", "job": self.job_reply(job), "message": self.translated(message)}

    def create(self) -> Any:
        body, errors = self.read_body()
        if errors:
            return self.bad_request(errors)
        try:
            remote = create_remote(self.context, body)
        except InvalidRemote as invalid:
            return self.refused(invalid)
        self.request.response.setStatus(201)
        self.request.response.setHeader("Location", f"{self.base_url()}/{remote.name}")
        return self.serialize(remote)

    def test_connection(self, name: str) -> Any:
        remote = self.named_remote(name)
        warning = {"warning": text} if (text := cleartext_warning(remote.url)) else {}
        if problem := certificate_error(remote.certificate_path):
            message = f"The Certificate Path {remote.certificate_path}: {problem}"
            return {"ok": False, "code": "tls", "message": message} | warning
        try:
            password = remote.password()
        except CredentialError as error:
            return {"ok": False, "code": "credentials", "message": self.translated(str(error))} | warning
        report = check_connection(remote.url, remote.username, password, remote.certificate_path)
        return {"ok": report.ok, "code": report.code, "message": self.translated(report.message)} | warning
