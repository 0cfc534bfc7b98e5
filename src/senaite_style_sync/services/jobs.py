"""@sync-jobs: a sync job's progress and outcome.

    GET @sync-jobs/<id>      the job: state, progress (done, total, percent, rate, ETA),
                             counts, plan, per-object errors and the outcome message

Jobs are started with POST @sync-remotes/<name>/@fetch | @import | @update.
"""

from typing import Any

from plone.restapi.services import Service
from zExceptions import BadRequest
from zExceptions import NotFound
from zope.interface import implementer
from zope.publisher.interfaces import IPublishTraverse

from senaite_style_sync.browser.actions import job_data
from senaite_style_sync.jobs.store import JobStore


@implementer(IPublishTraverse)
class JobsGet(Service):
    def __init__(self, context, request) -> None:
        super().__init__(context, request)
        self.params: list[str] = []

    def publishTraverse(self, request, name: str):
        self.params.append(name)
        return self

    def reply(self) -> Any:
        if len(self.params) != 1:
            raise BadRequest("Give a job: @sync-jobs/<id>.")
        job = JobStore(self.context).get(self.params[0])
        if job is None:
            raise NotFound(f"No job {self.params[0]!r}.")
        # Progress changes by the second: no cache may keep it.
        self.request.response.setHeader("Cache-Control", "no-store")
        return job_data(self.context, job)
