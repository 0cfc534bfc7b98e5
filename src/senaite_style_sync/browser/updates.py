"""Get Updates by hand: re-read every object the peer modified since a given date and time."""

from datetime import UTC
from datetime import datetime

from plone import api
from plone.protect import CheckAuthenticator
from Products.Five.browser import BrowserView

from senaite_style_sync import _
from senaite_style_sync.actions.jobs import InvalidSince
from senaite_style_sync.actions.jobs import normalise_since
from senaite_style_sync.actions.jobs import started_message
from senaite_style_sync.actions.messages import message
from senaite_style_sync.browser.steps import TRIGGER
from senaite_style_sync.browser.utils import requested_remote
from senaite_style_sync.browser.utils import sync_page_url
from senaite_style_sync.jobs.runner import JobRefused
from senaite_style_sync.jobs.runner import start_job


def input_value(iso: str) -> str:
    """An ISO 8601 moment as a datetime-local input value in UTC ("" when there is none)."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M")


class SyncUpdatesView(BrowserView):
    """@@sync-updates?remote=<name>: GET shows the form; POST (CSRF token) starts the update job."""

    error = ""

    def __call__(self) -> str:
        self.remote = requested_remote(self.context, self.request)
        form = self.request.form
        since = form.get("since")
        self.since_value = since if isinstance(since, str) else input_value(self.remote.state.cursor)
        if self.request.method != "POST":
            return self.index()
        CheckAuthenticator(self.request)
        if "form.buttons.cancel" in form:
            self.request.response.redirect(sync_page_url())
            return ""
        try:
            normalised = normalise_since(since)
        except InvalidSince as invalid:
            self.error = invalid.args[0]
            return self.index()
        try:
            job = start_job(self.context, self.remote, "update", TRIGGER, since=normalised)
        except JobRefused as refused:
            self.error = message(str(refused))
            return self.index()
        api.portal.show_message(
            _(
                "${started} Objects modified since ${since} are read again.",
                mapping={"started": started_message(job, self.remote), "since": normalised},
            ),
            self.request,
            type="info",
        )
        self.request.response.redirect(sync_page_url())
        return ""

    def cursor(self) -> str:
        return self.remote.state.cursor or _("never")
