"""Helpers shared by the views."""

from plone import api
from zExceptions import NotFound

from senaite_style_sync.model.remote import Remote
from senaite_style_sync.model.storage import RemoteStorage


def requested_remote(site, request) -> Remote:
    """The Remote named by the request's ``remote`` parameter, or NotFound."""
    name = request.form.get("remote", "")
    remote = RemoteStorage(site).get(name) if isinstance(name, str) else None
    if remote is None:
        raise NotFound(f"No remote named {name!r}.")
    return remote


def sync_page_url() -> str:
    return api.portal.get().absolute_url() + "/@@sync"
