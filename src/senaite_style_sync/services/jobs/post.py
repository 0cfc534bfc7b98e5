"""POST @sync-jobs/<id>/@confirm-deletions: carry out the deletions a run held back."""

from typing import Any

from plone.protect.interfaces import IDisableCSRFProtection
from zExceptions import NotFound
from zope.interface import alsoProvides

from senaite_style_sync.actions.jobs import job_data
from senaite_style_sync.actions.jobs import job_url
from senaite_style_sync.jobs.runner import JobRefused
from senaite_style_sync.jobs.runner import start_job
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.services.jobs.base import JobsService


class JobsPost(JobsService):
    def reply(self) -> Any:
        if len(self.params) != 2 or self.params[1] != "@confirm-deletions":
            raise NotFound("Unknown path.")
        alsoProvides(self.request, IDisableCSRFProtection)  # a JSON API call, as in @sync-remotes
        held = self.named_job()
        remote = RemoteStorage(self.context).get(held.remote)
        if remote is None:
            raise NotFound(f"No remote named {held.remote!r}.")
        try:
            job = start_job(self.context, remote, "delete", "rest", confirms=held.id)
        except JobRefused as refused:
            self.request.response.setStatus(409)
            return {"error": {"type": "Conflict", "message": str(refused)}}
        self.request.response.setStatus(202)
        self.request.response.setHeader("Location", job_url(self.context, job))
        return job_data(self.context, job)
