"""@sync-bundle/<remote>: where the imports of that Remote stand (GET), and a bundle pushed by
its site (POST, the zip as the body), applied as a job of that Remote (202).

The body is copied to the bundle directory, at most ``max-bundle-size`` bytes; the bundle's
signature is checked with the Remote's bundle key when the job applies it.
"""

from typing import Any

from plone.protect.interfaces import IDisableCSRFProtection
from zExceptions import NotFound
from zope.interface import alsoProvides

from senaite_style_sync import _
from senaite_style_sync.actions.bundles import NO_KEY
from senaite_style_sync.actions.bundles import checkpoint
from senaite_style_sync.actions.bundles import start_import
from senaite_style_sync.actions.jobs import job_data
from senaite_style_sync.actions.jobs import job_url
from senaite_style_sync.actions.messages import translated
from senaite_style_sync.jobs.runner import JobRefused
from senaite_style_sync.model.remote import Remote
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.peer.bundle import BundleError
from senaite_style_sync.peer.bundle import max_bundle_bytes
from senaite_style_sync.services.traversal import PathService


class BundleService(PathService):
    def named_remote(self) -> Remote:
        remote = RemoteStorage(self.context).get(self.params[0]) if len(self.params) == 1 else None
        if remote is None:
            name = self.params[0] if self.params else ""
            raise NotFound(translated(_("No remote named '${name}'.", mapping={"name": name}), self.request))
        return remote

    def error(self, status: int, kind: str, text: str) -> dict[str, Any]:
        self.request.response.setStatus(status)
        return {"error": {"type": kind, "message": translated(text, self.request)}}


class BundleGet(BundleService):
    def reply(self) -> dict[str, Any]:
        return checkpoint(self.named_remote())


class BundlePost(BundleService):
    def reply(self) -> dict[str, Any]:
        alsoProvides(self.request, IDisableCSRFProtection)  # a JSON API call, as in @sync-remotes
        remote = self.named_remote()
        if not remote.has_bundle_key:
            return self.error(409, "Conflict", NO_KEY)
        try:
            length = int(self.request.getHeader("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > max_bundle_bytes():
            return self.error(413, "PayloadTooLarge", _("The bundle is larger than this site accepts."))
        body = self.request.get("BODYFILE")
        if body is None:
            return self.error(400, "BadRequest", _("Send the bundle as the request's body."))
        body.seek(0)
        try:
            job = start_import(self.context, remote, body, "push")
        except BundleError:
            return self.error(413, "PayloadTooLarge", _("The bundle is larger than this site accepts."))
        except JobRefused as refused:
            return self.error(409, "Conflict", str(refused))
        self.request.response.setStatus(202)
        self.request.response.setHeader("Location", job_url(self.context, job))
        return {"job": job_url(self.context, job), **job_data(self.context, job)}
