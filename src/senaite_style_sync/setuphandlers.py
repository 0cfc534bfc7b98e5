"""Install and uninstall handlers."""

from plone import api
from plone.base.interfaces import INonInstallable
from zope.interface import implementer

from senaite_style_sync.actions.remotes import delete_remote
from senaite_style_sync.model.changes import create_change_log
from senaite_style_sync.model.changes import remove_change_log
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.storage import RemoteStorage


@implementer(INonInstallable)
class HiddenProfiles:
    """Keep the uninstall profile out of the add-on control panel."""

    def getNonInstallableProfiles(self) -> list[str]:
        return ["senaite_style_sync:uninstall"]


def post_install(setup_tool) -> None:
    """Start the change log: from now on every change of content is logged (server/changes/)."""
    create_change_log(api.portal.get())


def uninstall(setup_tool) -> None:
    """Remove every stored remote (with its encrypted password and sync state), the run history
    and the change log."""
    site = api.portal.get()
    for name in [remote.name for remote in RemoteStorage(site)]:
        delete_remote(site, name)  # read-only copies become ordinary content again
    RemoteStorage(site).clear()
    JobStore(site).clear()
    remove_change_log(site)
