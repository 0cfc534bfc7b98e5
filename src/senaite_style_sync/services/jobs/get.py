"""GET @sync-jobs/<id>: a job's state, progress and outcome."""

from typing import Any

from zExceptions import BadRequest

from senaite_style_sync.actions.jobs import job_data
from senaite_style_sync.services.jobs.base import GIVE_JOB
from senaite_style_sync.services.jobs.base import JobsService


class JobsGet(JobsService):
    def reply(self) -> Any:
        if len(self.params) != 1:
            raise BadRequest(self.translated(GIVE_JOB))
        job = self.named_job()
        # Progress changes by the second: no cache may keep it.
        self.request.response.setHeader("Cache-Control", "no-store")
        return job_data(self.context, job)
