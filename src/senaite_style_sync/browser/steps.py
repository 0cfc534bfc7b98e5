"""The Fetch / Import / Get Updates buttons: each starts a background job."""

from plone import api
from plone.protect import CheckAuthenticator
from plone.protect import PostOnly
from Products.Five.browser import BrowserView
from zExceptions import BadRequest

from senaite_style_sync.actions.jobs import STEP_TITLES
from senaite_style_sync.actions.jobs import started_message
from senaite_style_sync.actions.messages import message
from senaite_style_sync.browser.utils import requested_remote
from senaite_style_sync.browser.utils import sync_page_url
from senaite_style_sync.jobs.runner import JobRefused
from senaite_style_sync.jobs.runner import start_job
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.remote import Remote


TRIGGER = "button"


def start_from_browser(site, request, remote: Remote, step: str, since: str = "", confirms: str = "") -> Job | None:
    """Start the step as a job and say so in a status message; a refusal becomes an error message."""
    try:
        job = start_job(site, remote, step, TRIGGER, since=since, confirms=confirms)
    except JobRefused as refused:
        api.portal.show_message(message(str(refused)), request, type="error")
        return None
    api.portal.show_message(started_message(job, remote), request, type="info")
    return job


class RunStepView(BrowserView):
    """POST: start a step for one remote, then go back to the Sync page."""

    def __call__(self) -> str:
        PostOnly(self.request)
        CheckAuthenticator(self.request)
        remote = requested_remote(self.context, self.request)
        step = self.request.form.get("step")
        if step not in STEP_TITLES:
            raise BadRequest(message(f"Unknown step {step!r}."))
        start_from_browser(self.context, self.request, remote, step)
        self.request.response.redirect(sync_page_url())
        return ""
