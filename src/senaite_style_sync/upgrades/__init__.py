"""GenericSetup upgrade steps, one registration per profile version."""

from plone import api

from senaite_style_sync.model.changes import create_change_log


def start_change_log(setup_tool) -> None:
    """1001: the change log; changes are logged from now on (a remote lists the peer once more)."""
    create_change_log(api.portal.get())
