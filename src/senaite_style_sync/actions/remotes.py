"""Create and edit Remotes: validate the complete settings, then write, or write nothing."""

from typing import Any

from plone import api
from zope.component import getUtility
from zope.schema.interfaces import IVocabularyFactory

from senaite_style_sync import _
from senaite_style_sync.actions.jobs import step_title
from senaite_style_sync.jobs.runner import active_job
from senaite_style_sync.model.remote import Remote
from senaite_style_sync.model.schema import TYPES_VOCABULARY
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.model.validation import validate_remote
from senaite_style_sync.sync.local import LocalSite
from senaite_style_sync.sync.readonly import is_locked
from senaite_style_sync.sync.readonly import unlock


class InvalidRemote(ValueError):
    """Settings that fail validation; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


def installed_types() -> list[str]:
    """The content types a remote's type rules may name: the form's multi-select vocabulary."""
    vocabulary = getUtility(IVocabularyFactory, TYPES_VOCABULARY)(api.portal.get())
    return [term.value for term in vocabulary]


def create_remote(site, data: dict[str, Any]) -> Remote:
    """Add a Remote from complete settings ``data``; raise InvalidRemote and store nothing if invalid."""
    storage = RemoteStorage(site)
    settings = Remote(data.get("name") or "").settings()
    settings.update(data)
    errors = validate_remote(
        settings | {"password": data.get("password")},
        is_new=True,
        taken_names=storage,
        installed_types=installed_types(),
    )
    if errors:
        raise InvalidRemote(errors)
    remote = Remote(settings["name"])
    remote.update(settings | {"password": data.get("password")})
    storage.add(remote)
    return remote


def edit_remote(remote: Remote, changes: dict[str, Any]) -> None:
    """Apply ``changes`` to ``remote``; the name stays. Raise InvalidRemote and change nothing if invalid."""
    settings = remote.settings() | {k: v for k, v in changes.items() if k != "name"}
    errors = validate_remote(
        settings | {"password": changes.get("password")},
        is_new=False,
        taken_names=(),
        installed_types=installed_types(),
        has_stored_password=remote.has_password,
    )
    if errors:
        raise InvalidRemote(errors)
    remote.update(settings | {"password": changes.get("password")})


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
    local = LocalSite(site)
    for synced in remote.state.synced.values():
        obj = local.by_uid(synced.local_uid)
        if obj is not None and is_locked(obj):
            unlock(obj)
    storage.delete(name)
