"""Read-only copies: nobody may edit, move or delete them locally, Managers included; only the sync does.

A locked copy grants the edit and delete permissions to no role (without acquisition) and
is marked ``IReadOnlyCopy``; the subscribers in readonly_guard.py keep it so. The sync's own
moves and deletes of locked copies run inside ``sync_writes()`` (or as the sync's system
user, as every job does); anything else that moves or deletes one is refused.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from AccessControl.Permission import getPermissionIdentifier
from AccessControl.Permissions import delete_objects
from AccessControl.SecurityManagement import getSecurityManager
from AccessControl.users import UnrestrictedUser
from Acquisition import aq_base
from Products.CMFCore.permissions import ModifyPortalContent
from Products.CMFCore.utils import getToolByName
from zope.interface import alsoProvides
from zope.interface import noLongerProvides

from senaite_style_sync.interfaces import IReadOnlyCopy
from senaite_style_sync.model.jobs import SYSTEM_USER


LOCKED_PERMISSIONS = (ModifyPortalContent, delete_objects)
_writing = threading.local()


def lock(obj) -> None:
    """Grant the edit and delete permissions to no role on this object (no acquisition).

    The sync job runs as an unrestricted user, which needs no permission; forms, REST and
    folder contents check these permissions and answer Unauthorized.
    """
    if not IReadOnlyCopy.providedBy(obj):
        alsoProvides(obj, IReadOnlyCopy)
    for permission in LOCKED_PERMISSIONS:
        obj.manage_permission(permission, roles=[], acquire=0)


def is_locked(obj) -> bool:
    """Whether no role has the permissions, not even by acquisition: read from the object's own
    settings, so it holds for an object without its acquisition context too."""
    return all(
        getattr(aq_base(obj), getPermissionIdentifier(permission), None) == () for permission in LOCKED_PERMISSIONS
    )


def unlock(obj) -> None:
    """Give the permissions back to acquisition and to the object's workflow state."""
    release(obj)
    for workflow in getToolByName(obj, "portal_workflow").getWorkflowsFor(obj):
        workflow.updateRoleMappingsFor(obj)


def release(obj) -> None:
    """Unmark the object and give the permissions back to acquisition (its workflow not asked)."""
    if IReadOnlyCopy.providedBy(obj):
        noLongerProvides(obj, IReadOnlyCopy)
    for permission in LOCKED_PERMISSIONS:
        obj.manage_permission(permission, roles=[], acquire=1)


@contextmanager
def sync_writes() -> Iterator[None]:
    """The sync moves or deletes locked copies inside this (in this thread): the guard lets it."""
    _writing.depth = getattr(_writing, "depth", 0) + 1
    try:
        yield
    finally:
        _writing.depth -= 1


def is_sync_write() -> bool:
    """Inside ``sync_writes()``, or acting as the jobs' unrestricted system user (no user of the site)."""
    user = getSecurityManager().getUser()
    as_job = isinstance(user, UnrestrictedUser) and user.getUserName() == SYSTEM_USER
    return getattr(_writing, "depth", 0) > 0 or as_job
