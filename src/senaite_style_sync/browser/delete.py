"""Delete a Remote after confirmation."""

from plone import api
from plone.protect import CheckAuthenticator
from Products.Five.browser import BrowserView

from senaite_style_sync import _
from senaite_style_sync.actions.remotes import RemoteBusy
from senaite_style_sync.actions.remotes import delete_remote
from senaite_style_sync.browser.utils import requested_remote
from senaite_style_sync.browser.utils import sync_page_url


class RemoteDeleteView(BrowserView):
    """GET shows the confirmation; POST with the CSRF token deletes."""

    def __call__(self) -> str:
        self.remote = requested_remote(self.context, self.request)
        if self.request.method != "POST":
            return self.index()
        CheckAuthenticator(self.request)
        if "form.buttons.delete" in self.request.form:
            try:
                delete_remote(self.context, self.remote.name)
            except RemoteBusy as busy:
                api.portal.show_message(busy.args[0], self.request, type="error")
            else:
                deleted = _("Remote '${name}' deleted.", mapping={"name": self.remote.name})
                api.portal.show_message(deleted, self.request)
        self.request.response.redirect(sync_page_url())
        return ""
