"""The Fetch / Import / Get Updates buttons."""

from plone import api
from plone.protect import CheckAuthenticator
from plone.protect import PostOnly
from Products.Five.browser import BrowserView
from zExceptions import BadRequest

from senaite_style_sync.browser.utils import requested_remote
from senaite_style_sync.browser.utils import sync_page_url


STEP_TITLES = {"fetch": "Fetch", "import": "Import", "update": "Get Updates"}


def step_unavailable_message(step: str, remote_name: str) -> str:
    return f"{STEP_TITLES[step]} for '{remote_name}' is not yet available in this release."


class RunStepView(BrowserView):
    """POST: start a step for one remote, then go back to the Sync page."""

    def __call__(self) -> str:
        PostOnly(self.request)
        CheckAuthenticator(self.request)
        remote = requested_remote(self.context, self.request)
        step = self.request.form.get("step")
        if step not in STEP_TITLES:
            raise BadRequest(f"Unknown step {step!r}.")
        api.portal.show_message(step_unavailable_message(step, remote.name), self.request, type="warning")
        self.request.response.redirect(sync_page_url())
        return ""
