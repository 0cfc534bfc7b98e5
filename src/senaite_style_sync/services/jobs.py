"""@sync-jobs: a sync job's progress and outcome, and the confirmation of deletions it held back.

    GET  @sync-jobs/<id>                        the job: state, progress (done, total, percent,
                                                rate, ETA), counts, plan, per-object errors and
                                                warnings, held deletions, the outcome message
    POST @sync-jobs/<id>/@confirm-deletions     carry out the deletions the job held back (202,
                                                a "delete" job; 409 while another job of the
                                                remote runs or when there is nothing to confirm)

Jobs are started with POST @sync-remotes/<name>/@fetch | @import | @update.
"""

from typing import Any

from plone.protect.interfaces import IDisableCSRFProtection
from plone.restapi.services import Service
from zExceptions import BadRequest
from zExceptions import NotFound
from zope.interface import alsoProvides
from zope.interface import implementer
from zope.publisher.interfaces import IPublishTraverse

from senaite_style_sync.browser.actions import job_data
from senaite_style_sync.browser.actions import job_url
from senaite_style_sync.jobs.runner import JobRefused
from senaite_style_sync.jobs.runner import start_job
from senaite_style_sync.jobs.store import Job
from senaite_style_sync.jobs.store import JobStore
from senaite_style_sync.remotes.storage import RemoteStorage


@implementer(IPublishTraverse)
class JobsService(Service):
    def __init__(self, context, request) -> None:
        super().__init__(context, request)
        self.params: list[str] = []

    def publishTraverse(self, request, name: str):
        self.params.append(name)
        return self

    def named_job(self) -> Job:
        job = JobStore(self.context).get(self.params[0]) if self.params else None
        if job is None:
            raise NotFound(f"No job {self.params[0]!r}." if self.params else "Give a job: @sync-jobs/<id>.")
        return job


class JobsGet(JobsService):
    def reply(self) -> Any:
        if len(self.params) != 1:
            raise BadRequest("Give a job: @sync-jobs/<id>.")
        job = self.named_job()
        # Progress changes by the second: no cache may keep it.
        self.request.response.setHeader("Cache-Control", "no-store")
        return job_data(self.context, job)


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
