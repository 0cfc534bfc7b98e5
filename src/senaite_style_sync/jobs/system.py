"""What a background thread needs to work on a site: its own connection, a request, a system user."""

from collections.abc import Iterator
from contextlib import contextmanager

import transaction
from AccessControl.SecurityManagement import newSecurityManager
from AccessControl.SecurityManagement import noSecurityManager
from AccessControl.users import UnrestrictedUser
from Testing.makerequest import makerequest
from zope.component.hooks import setSite
from zope.globalrequest import clearRequest
from zope.globalrequest import setRequest


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
