"""Create and edit Remotes: validate the complete settings, then write, or write nothing.

Who may do what is checked here, not only in the forms: only a Manager may allow imported
Managers (``allow_manager_role``), and only a Manager may change a remote that allows them.
"""

from typing import Any

from AccessControl.SecurityManagement import getSecurityManager
from plone import api
from zope.component import getUtility
from zope.schema.interfaces import IVocabularyFactory

from senaite_style_sync import _
from senaite_style_sync.actions.jobs import step_title
from senaite_style_sync.jobs.runner import active_job
from senaite_style_sync.model.remote import Remote
from senaite_style_sync.model.schema import SECRET_FIELDS
from senaite_style_sync.model.schema import TYPES_VOCABULARY
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.model.validation import PASSWORD_AGAIN
from senaite_style_sync.model.validation import PASSWORD_MISSING
from senaite_style_sync.model.validation import url_error
from senaite_style_sync.model.validation import validate_remote
from senaite_style_sync.peer.session import origin
from senaite_style_sync.sync.local import LocalSite
from senaite_style_sync.sync.readonly import is_locked
from senaite_style_sync.sync.readonly import unlock


class InvalidRemote(ValueError):
    """Settings that fail validation; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


class ManagerOnly(InvalidRemote):
    """A change only a Manager may make; ``errors`` names the field and why."""


MANAGER_ONLY_SET = "Only a Manager may allow the Manager role."
MANAGER_ONLY_EDIT = "This remote allows the Manager role: only a Manager may change it."


def is_manager(site, user=None) -> bool:
    """Whether ``user`` (by default the acting user) has the Manager role on ``site``."""
    user = user if user is not None else getSecurityManager().getUser()
    return bool(user.has_role("Manager", site))


def same_origin(url: str, other: str) -> bool:
    """Whether both URLs name one scheme, host and port (a URL that does not parse names none)."""
    if url_error(url) or url_error(other):
        return False
    return origin(url) == origin(other)


def installed_types() -> list[str]:
    """The content types a remote's type rules may name: the form's multi-select vocabulary."""
    vocabulary = getUtility(IVocabularyFactory, TYPES_VOCABULARY)(api.portal.get())
    return [term.value for term in vocabulary]


def secrets(data: dict[str, Any]) -> dict[str, Any]:
    """The secrets typed (an empty one keeps the stored)."""
    return {name: data.get(name) for name in SECRET_FIELDS}


def create_remote(site, data: dict[str, Any], user=None) -> Remote:
    """Add a Remote from complete settings ``data``; raise InvalidRemote and store nothing if invalid.

    ``user`` is who acts (by default the current user): only a Manager may allow the Manager role.
    """
    storage = RemoteStorage(site)
    settings = Remote(data.get("name") or "").settings()
    settings.update(data)
    if settings["allow_manager_role"] and not is_manager(site, user):
        raise ManagerOnly({"allow_manager_role": MANAGER_ONLY_SET})
    errors = validate_remote(
        settings | secrets(data),
        is_new=True,
        taken_names=storage,
        installed_types=installed_types(),
    )
    if errors:
        raise InvalidRemote(errors)
    remote = Remote(settings["name"])
    remote.update(settings | secrets(data))
    storage.add(remote)
    return remote


def edit_remote(remote: Remote, changes: dict[str, Any], user=None) -> None:
    """Apply ``changes`` to ``remote``; the name stays. Raise InvalidRemote and change nothing if invalid.

    Only a Manager (``user``, by default the current user) may change a remote that allows
    the Manager role, or allow it. The stored password is never sent to another origin: a
    new Source URL on another scheme, host or port needs the password again (with a
    username) or drops it (without one).
    """
    settings = remote.settings() | {k: v for k, v in changes.items() if k != "name"}
    if not is_manager(api.portal.get(), user):
        if remote.allow_manager_role:
            raise ManagerOnly({"allow_manager_role": MANAGER_ONLY_EDIT})
        if settings["allow_manager_role"]:
            raise ManagerOnly({"allow_manager_role": MANAGER_ONLY_SET})
    moved = not same_origin(settings["url"] or "", remote.url)
    errors = validate_remote(
        settings | secrets(changes),
        is_new=False,
        taken_names=(),
        installed_types=installed_types(),
        has_stored_password=remote.has_password and not moved,
    )
    if moved and remote.has_password and errors.get("password") == PASSWORD_MISSING:
        errors["password"] = PASSWORD_AGAIN
    if errors:
        raise InvalidRemote(errors)
    if moved and not changes.get("password"):
        remote.forget_password()
    remote.update(settings | secrets(changes))


class RemoteBusy(Exception):
    """The Remote has a job running: it cannot be deleted now."""


def delete_remote(site, name: str) -> None:
    """Delete a Remote; its read-only copies become ordinary content again (their content stays)."""
    storage = RemoteStorage(site)
    remote = storage.get(name)
    running = active_job(site, remote)
    if running is not None:
        raise RemoteBusy(
            _(
                "A ${step} job of '${remote}' is running; delete the remote when it has ended.",
                mapping={"step": step_title(running.step), "remote": name},
            )
        )
    # Written, so that a job started meanwhile (it writes the remote's job lock) conflicts with this.
    remote._p_changed = True
    local = LocalSite(site)
    for synced in remote.state.synced.values():
        obj = local.by_uid(synced.local_uid)
        if obj is not None and is_locked(obj):
            unlock(obj)
    storage.delete(name)
