"""POST @sync-jobs/<id>/@confirm-deletions | @repair: carry out what a run found (202, a new job)."""

from typing import Any

from plone.protect.interfaces import IDisableCSRFProtection
from zExceptions import NotFound
from zope.interface import alsoProvides

from senaite_style_sync import _
from senaite_style_sync.actions.jobs import job_data
from senaite_style_sync.actions.jobs import job_url
from senaite_style_sync.jobs.runner import JobRefused
from senaite_style_sync.jobs.runner import start_job
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.services.jobs.base import JobsService


# POST @sync-jobs/<id>/<endpoint>: the step that carries out what that job found
FOLLOW_UP_ENDPOINTS = {"@confirm-deletions": "delete", "@repair": "repair"}


class JobsPost(JobsService):
    def reply(self) -> Any:
        step = FOLLOW_UP_ENDPOINTS.get(self.params[1]) if len(self.params) == 2 else None
        if step is None:
            raise NotFound(self.translated(_("Unknown path.")))
        alsoProvides(self.request, IDisableCSRFProtection)  # a JSON API call, as in @sync-remotes
        held = self.named_job()
        remote = RemoteStorage(self.context).get(held.remote)
        if remote is None:
            raise NotFound(self.translated(_("No remote named '${name}'.", mapping={"name": held.remote})))
        try:
            job = start_job(self.context, remote, step, "rest", confirms=held.id)
        except JobRefused as refused:
            self.request.response.setStatus(409)
            return {"error": {"type": "Conflict", "message": self.translated(str(refused))}}
        self.request.response.setStatus(202)
        self.request.response.setHeader("Location", job_url(self.context, job))
        return job_data(self.context, job)
