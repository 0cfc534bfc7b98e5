"""What a background thread needs to work on a site: its own connection, a request, a system user."""

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import transaction
from AccessControl.SecurityManagement import newSecurityManager
from AccessControl.SecurityManagement import noSecurityManager
from AccessControl.users import UnrestrictedUser
from Testing.makerequest import makerequest
from zope.component.hooks import setSite
from zope.globalrequest import clearRequest
from zope.globalrequest import setRequest


def serve_as(request, site, site_url: str) -> None:
    """Let this thread's request build the site's URLs as the request that started the job saw
    them (host, port, a virtual host's path), not as ``http://nohost``."""
    parts = urlsplit(site_url)
    if not parts.hostname:
        return
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 80)
    request.setServerURL(parts.scheme, parts.hostname, str(port))
    physical = site.getPhysicalPath()
    path = [segment for segment in parts.path.split("/") if segment]
    if path != list(physical[1:]):  # a virtual host shows the site at another path
        request["VirtualRootPhysicalPath"] = physical
        request.setVirtualRoot(path)


@contextmanager
def as_system(db, user_name: str) -> Iterator:
    """The Zope application on a ZODB connection of this thread's own, with a request and an
    unrestricted Manager named ``user_name``; all undone (uncommitted work aborted) on exit."""
    connection = db.open()
    try:
        app = makerequest(connection.root()["Application"])
        app.REQUEST["PARENTS"] = [app]  # serializers clone the request, which needs PARENTS
        setRequest(app.REQUEST)
        newSecurityManager(None, UnrestrictedUser(user_name, "", ["Manager"], []).__of__(app.acl_users))
        yield app
    finally:
        transaction.abort()
        noSecurityManager()
        setSite(None)
        clearRequest()
        connection.close()
