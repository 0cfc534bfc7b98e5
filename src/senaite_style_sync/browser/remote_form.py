"""Add New Remote and Edit Remote forms (z3c.form, CSRF-protected)."""

from typing import Any

from plone import api
from plone.z3cform.layout import wrap_form
from z3c.form import button
from z3c.form import field
from z3c.form import form
from z3c.form.browser.select import SelectFieldWidget
from z3c.form.interfaces import DISPLAY_MODE
from z3c.form.interfaces import IErrorViewSnippet
from zope.component import getMultiAdapter
from zope.interface import Invalid

from senaite_style_sync.actions.remotes import MANAGER_ONLY_EDIT
from senaite_style_sync.actions.remotes import InvalidRemote
from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.actions.remotes import edit_remote
from senaite_style_sync.actions.remotes import is_manager
from senaite_style_sync.actions.remotes import same_origin
from senaite_style_sync.browser.steps import start_from_browser
from senaite_style_sync.browser.utils import requested_remote
from senaite_style_sync.browser.utils import sync_page_url
from senaite_style_sync.model.credentials import CredentialError
from senaite_style_sync.model.remote import Remote
from senaite_style_sync.model.schema import TYPE_RULE_FIELDS
from senaite_style_sync.model.schema import IRemote
from senaite_style_sync.model.validation import PASSWORD_AGAIN
from senaite_style_sync.model.validation import certificate_error
from senaite_style_sync.model.validation import cleartext_warning
from senaite_style_sync.model.validation import url_error
from senaite_style_sync.peer.probe import check_connection


def remote_fields(name_mode: str | None = None, manager: bool = True) -> field.Fields:
    """The Remote's form fields: type rules as multi-selects of installed types; "Allow the
    Manager role" shown, not editable, to anyone but a Manager."""
    fields = field.Fields(IRemote)
    for name in TYPE_RULE_FIELDS:
        fields[name].widgetFactory = SelectFieldWidget
    if name_mode:
        fields["name"].mode = name_mode
    if not manager:
        fields["allow_manager_role"].mode = DISPLAY_MODE
    return fields


class RemoteForm(form.Form):
    """Shared parts of the add and edit forms; subclasses say how data is saved."""

    enableCSRFProtection = True
    name_mode: str | None = None

    def remote(self) -> Remote | None:
        """The remote being edited (None when adding)."""
        return None

    def update(self) -> None:
        # Built per request: whether the user may allow the Manager role decides a field's mode.
        self.fields = remote_fields(self.name_mode, manager=is_manager(self.context))
        super().update()

    def save(self, data: dict[str, Any]) -> Remote:
        raise NotImplementedError

    def updateWidgets(self) -> None:
        super().updateWidgets()
        for name in TYPE_RULE_FIELDS:
            self.widgets[name].multiple = "multiple"
            self.widgets[name].size = 8
            self.widgets[name].addClass("form-select")
        # A password typed or stored is never sent back to the browser.
        self.widgets["password"].value = ""

    def show_errors(self, errors: dict[str, str]) -> None:
        """Attach each message to its field's widget, as z3c.form does for its own errors."""
        for name, message in errors.items():
            widget = self.widgets[name]
            snippet = getMultiAdapter(
                (Invalid(message), self.request, widget, widget.field, self, self.context),
                IErrorViewSnippet,
            )
            snippet.update()
            widget.error = snippet
            self.widgets.errors += (snippet,)
        self.status = self.formErrorsMessage

    def _save_from_form(self) -> Remote | None:
        data, errors = self.extractData()
        if errors:
            self.status = self.formErrorsMessage
            return None
        try:
            return self.save(data)
        except InvalidRemote as invalid:
            self.show_errors(invalid.errors)
            return None

    @button.buttonAndHandler("Save and Fetch", name="save_fetch")
    def handle_save_fetch(self, action) -> None:
        remote = self._save_from_form()
        if remote is not None:
            api.portal.show_message(f"Remote '{remote.name}' saved.", self.request)
            self.warn_cleartext(remote.url)
            start_from_browser(self.context, self.request, remote, "fetch")
            self.request.response.redirect(sync_page_url())

    @button.buttonAndHandler("Save", name="save")
    def handle_save(self, action) -> None:
        remote = self._save_from_form()
        if remote is not None:
            api.portal.show_message(f"Remote '{remote.name}' saved.", self.request)
            self.warn_cleartext(remote.url)
            self.request.response.redirect(sync_page_url())

    def warn_cleartext(self, url: str) -> None:
        if warning := cleartext_warning(url):
            api.portal.show_message(warning, self.request, type="warning")

    @button.buttonAndHandler("Test connection", name="test_connection")
    def handle_test_connection(self, action) -> None:
        data, _errors = self.extractData()
        url = data.get("url") or ""
        problems = {
            name: message
            for name, message in (
                ("url", url_error(url)),
                ("certificate_path", certificate_error(data.get("certificate_path") or "")),
            )
            if message
        }
        if problems:
            self.show_errors(problems)
            return
        username = data.get("username") or ""
        password = data.get("password") or ""
        stored = self.remote()
        if username and not password and stored is not None and stored.has_password:
            # The stored password goes only where it was meant to go: the stored URL's origin.
            if not same_origin(url, stored.url):
                self.show_errors({"password": PASSWORD_AGAIN})
                return
            try:
                password = stored.password()
            except CredentialError as error:
                api.portal.show_message(str(error), self.request, type="error")
                return
        report = check_connection(url, username, password, data.get("certificate_path") or "")
        api.portal.show_message(report.message, self.request, type="info" if report.ok else "error")
        self.warn_cleartext(url)

    @button.buttonAndHandler("Cancel", name="cancel")
    def handle_cancel(self, action) -> None:
        self.request.response.redirect(sync_page_url())


class RemoteAddForm(RemoteForm):
    label = "Add New Remote"
    ignoreContext = True

    def save(self, data: dict[str, Any]) -> Remote:
        return create_remote(self.context, data)


class RemoteEditForm(RemoteForm):
    label = "Edit Remote"
    name_mode = DISPLAY_MODE

    def update(self) -> None:
        self._remote = requested_remote(self.context, self.request)
        if self._remote.allow_manager_role and not is_manager(self.context):
            self.status = MANAGER_ONLY_EDIT
        super().update()

    @property
    def action(self) -> str:
        return f"{self.request.getURL()}?remote={self._remote.name}"

    def remote(self) -> Remote:
        return self._remote

    def getContent(self) -> dict[str, Any]:
        return self._remote.settings() | {"password": ""}

    def save(self, data: dict[str, Any]) -> Remote:
        edit_remote(self._remote, data)
        return self._remote


RemoteAddFormView = wrap_form(RemoteAddForm)
RemoteEditFormView = wrap_form(RemoteEditForm)
