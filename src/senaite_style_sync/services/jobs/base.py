"""What the @sync-jobs services share: the job named by the path."""

from zExceptions import NotFound

from senaite_style_sync import _
from senaite_style_sync.actions.messages import translated
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.services.traversal import PathService


GIVE_JOB = _("Give a job: @sync-jobs/<id>.")


class JobsService(PathService):
    def named_job(self) -> Job:
        job = JobStore(self.context).get(self.params[0]) if self.params else None
        if job is None:
            missing = _("No job '${id}'.", mapping={"id": self.params[0]}) if self.params else GIVE_JOB
            raise NotFound(self.translated(missing))
        return job

    def translated(self, text: str) -> str:
        return translated(text, self.request)
