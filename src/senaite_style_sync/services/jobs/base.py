"""What the @sync-jobs services share: the job named by the path."""

from plone.restapi.services import Service
from zExceptions import NotFound
from zope.interface import implementer
from zope.publisher.interfaces import IPublishTraverse

from senaite_style_sync import _
from senaite_style_sync.actions.messages import translated
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore


GIVE_JOB = _("Give a job: @sync-jobs/<id>.")


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
            missing = _("No job '${id}'.", mapping={"id": self.params[0]}) if self.params else GIVE_JOB
            raise NotFound(self.translated(missing))
        return job

    def translated(self, text: str) -> str:
        return translated(text, self.request)
