"""Delete a Remote after confirmation."""

from plone import api
from plone.protect import CheckAuthenticator
from Products.Five.browser import BrowserView

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
                api.portal.show_message(str(busy), self.request, type="error")
            else:
                api.portal.show_message(f"Remote '{self.remote.name}' deleted.", self.request)
        self.request.response.redirect(sync_page_url())
        return ""
