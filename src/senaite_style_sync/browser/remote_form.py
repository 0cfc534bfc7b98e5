"""Add New Remote and Edit Remote forms (z3c.form, CSRF-protected): the connection first, the rest folded."""

import json
from typing import Any

from plone import api
from plone.app.z3cform.widgets.select import Select2Widget
from plone.z3cform.fieldsets.group import GroupFactory
from plone.z3cform.layout import FormWrapper
from Products.Five.browser.pagetemplatefile import ViewPageTemplateFile
from z3c.form import button
from z3c.form import field
from z3c.form import form
from z3c.form import group
from z3c.form.interfaces import DISPLAY_MODE
from z3c.form.interfaces import IErrorViewSnippet
from z3c.form.widget import FieldWidget
from zope.component import getMultiAdapter
from zope.i18n import translate
from zope.interface import Invalid

from senaite_style_sync import _
from senaite_style_sync.actions.messages import message
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


CONNECTION_FIELDS = ("name", "url", "username", "password", "certificate_path")
# The folded fieldsets after the connection: (id, label, fields).
FIELDSETS = (
    (
        "import-options",
        _("Import options"),
        ("import_settings", "import_registry", "registry_prefixes", "import_users", "allow_manager_role"),
    ),
    ("prefixes", _("Prefixes"), ("remote_prefix", "local_prefix")),
    ("content-types", _("Content types"), TYPE_RULE_FIELDS),
    (
        "auto-sync",
        _("Auto-Sync and conflicts"),
        ("conflict_policy", "max_delete_percent", "auto_sync", "auto_sync_interval"),
    ),
    ("bundles", _("Bundles and push"), ("bundle_key", "push")),
)
# Asked for by the form's script: Test connection answers with JSON instead of the page.
JSON_REPLY = ("reply", "json")


class TypeRuleWidget(Select2Widget):
    """Plone's filterable select (pat-select2) for a list of content types, shown by title."""

    def get_pattern_options(self) -> dict[str, Any]:
        options = super().get_pattern_options()
        options["orderable"] = False  # stored sorted: the order means nothing
        options["placeholder"] = translate(_("Type to filter the content types…"), context=self.request)
        return options


def TypeRuleFieldWidget(field, request) -> FieldWidget:
    widget = FieldWidget(field, TypeRuleWidget(request))
    widget.multiple = "multiple"
    return widget


def remote_fields(names: tuple[str, ...], name_mode: str | None = None, manager: bool = True) -> field.Fields:
    """Some of the Remote's form fields: type rules as filterable selects of installed types;
    "Allow the Manager role" shown, not editable, to anyone but a Manager."""
    fields = field.Fields(IRemote).select(*names)
    for name in TYPE_RULE_FIELDS:
        if name in fields:
            fields[name].widgetFactory = TypeRuleFieldWidget
    if name_mode and "name" in fields:
        fields["name"].mode = name_mode
    if not manager and "allow_manager_role" in fields:
        fields["allow_manager_role"].mode = DISPLAY_MODE
    return fields


def fieldsets(manager: bool) -> list[GroupFactory]:
    return [GroupFactory(name, remote_fields(names, manager=manager), label=label) for name, label, names in FIELDSETS]


class RemoteForm(group.GroupForm, form.Form):
    """Shared parts of the add and edit forms; subclasses say how data is saved."""

    template = ViewPageTemplateFile("templates/remote_form.pt")
    enableCSRFProtection = True
    enable_form_tabbing = False  # the template folds the fieldsets itself
    # The outcome of Test connection: {"ok", "code", "message", "errors"[, "warning"]}; None before one.
    connection: dict[str, Any] | None = None

    def remote(self) -> Remote | None:
        """The remote being edited (None when adding)."""
        return None

    def save(self, data: dict[str, Any]) -> Remote:
        raise NotImplementedError

    def all_widgets(self) -> dict[str, Any]:
        """Every widget of the form and its fieldsets, by field name."""
        widgets = dict(self.widgets.items())
        for fieldset in self.groups:
            widgets.update(fieldset.widgets.items())
        return widgets

    def update(self) -> None:
        # Built per request: whether the user may allow the Manager role decides a field's mode.
        self.groups = fieldsets(manager=is_manager(self.context))
        super().update()
        # A password typed or stored is never sent back to the browser, but the one typed
        # stays for another Test connection: it is the browser's own.
        password = self.widgets["password"]
        if self.connection is None:
            password.value = ""
        self.all_widgets()["bundle_key"].value = ""  # never sent back

    def show_errors(self, errors: dict[str, str]) -> None:
        """Attach each message to its field's widget, as z3c.form does for its own errors."""
        widgets = self.all_widgets()
        for name, text in errors.items():
            widget = widgets[name]
            snippet = getMultiAdapter(
                (Invalid(message(text)), self.request, widget, widget.field, self, self.context),
                IErrorViewSnippet,
            )
            snippet.update()
            widget.error = snippet
            widget.form.widgets.errors += (snippet,)
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

    def saved(self, remote: Remote) -> None:
        api.portal.show_message(_("Remote '${name}' saved.", mapping={"name": remote.name}), self.request)

    @button.buttonAndHandler(_("Save and Fetch"), name="save_fetch")
    def handle_save_fetch(self, action) -> None:
        remote = self._save_from_form()
        if remote is not None:
            self.saved(remote)
            self.warn_cleartext(remote.url)
            start_from_browser(self.context, self.request, remote, "fetch")
            self.request.response.redirect(sync_page_url())

    @button.buttonAndHandler(_("Save"), name="save")
    def handle_save(self, action) -> None:
        remote = self._save_from_form()
        if remote is not None:
            self.saved(remote)
            self.warn_cleartext(remote.url)
            self.request.response.redirect(sync_page_url())

    def warn_cleartext(self, url: str) -> None:
        if warning := cleartext_warning(url):
            api.portal.show_message(message(warning), self.request, type="warning")

    @button.buttonAndHandler(_("Test connection"), name="test_connection")
    def handle_test_connection(self, action) -> None:
        self.connection = self.test_connection()
        if self.connection["errors"]:
            self.show_errors(self.connection["errors"])

    def test_connection(self) -> dict[str, Any]:
        """Check the typed settings without saving them; an empty password uses the stored one."""
        data, _errors = self.extractData(setErrors=False)
        url = data.get("url") or ""
        problems = {
            name: text
            for name, text in (
                ("url", url_error(url)),
                ("certificate_path", certificate_error(data.get("certificate_path") or "")),
            )
            if text
        }
        if problems:
            return self.outcome(False, "invalid", _("Correct the marked fields first."), problems)
        username = data.get("username") or ""
        password = data.get("password") or ""
        stored = self.remote()
        if username and not password and stored is not None and stored.has_password:
            # The stored password goes only where it was meant to go: the stored URL's origin.
            if not same_origin(url, stored.url):
                return self.outcome(
                    False, "invalid", _("Correct the marked fields first."), {"password": PASSWORD_AGAIN}
                )
            try:
                password = stored.password()
            except CredentialError as error:
                return self.outcome(False, "credentials", message(str(error)))
        report = check_connection(url, username, password, data.get("certificate_path") or "")
        outcome = self.outcome(report.ok, report.code, message(report.message))
        if warning := cleartext_warning(url):  # shown with the outcome, as the REST API answers it
            outcome["warning"] = translate(message(warning), context=self.request)
        return outcome

    def outcome(self, ok: bool, code: str, text: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
        """Test connection's outcome: {"ok", "code", "message", "errors"} and, for an http:// URL
        that was tried, "warning"."""
        translated = {name: translate(message(value), context=self.request) for name, value in (errors or {}).items()}
        return {"ok": ok, "code": code, "message": translate(text, context=self.request), "errors": translated}

    @button.buttonAndHandler(_("Cancel"), name="cancel")
    def handle_cancel(self, action) -> None:
        self.request.response.redirect(sync_page_url())


class RemoteAddForm(RemoteForm):
    label = _("Add New Remote")
    fields = remote_fields(CONNECTION_FIELDS)
    ignoreContext = True

    def save(self, data: dict[str, Any]) -> Remote:
        return create_remote(self.context, data)


class RemoteEditForm(RemoteForm):
    label = _("Edit Remote")
    fields = remote_fields(CONNECTION_FIELDS, name_mode=DISPLAY_MODE)

    def update(self) -> None:
        self._remote = requested_remote(self.context, self.request)
        if self._remote.allow_manager_role and not is_manager(self.context):
            self.status = message(MANAGER_ONLY_EDIT)
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


class RemoteFormView(FormWrapper):
    """The form in Plone's layout; Test connection asked for by the form's script answers with JSON."""

    def __call__(self) -> str:
        self.update()
        connection = self.form_instance.connection
        if self.request.form.get(JSON_REPLY[0]) == JSON_REPLY[1] and connection is not None:
            self.request.response.setHeader("Content-Type", "application/json")
            return json.dumps(connection)
        return self.render()


class RemoteAddFormView(RemoteFormView):
    form = RemoteAddForm


class RemoteEditFormView(RemoteFormView):
    form = RemoteEditForm
