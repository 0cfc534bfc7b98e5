"""Install and uninstall handlers."""

from plone import api
from plone.base.interfaces import INonInstallable
from zope.interface import implementer

from senaite_style_sync.actions.remotes import delete_remote
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.storage import RemoteStorage


@implementer(INonInstallable)
class HiddenProfiles:
    """Keep the uninstall profile out of the add-on control panel."""

    def getNonInstallableProfiles(self) -> list[str]:
        return ["senaite_style_sync:uninstall"]


def uninstall(setup_tool) -> None:
    """Remove every stored remote (with its encrypted password and sync state) and the run history."""
    site = api.portal.get()
    for name in [remote.name for remote in RemoteStorage(site)]:
        delete_remote(site, name)  # read-only copies become ordinary content again
    RemoteStorage(site).clear()
    JobStore(site).clear()
