"""Read-only copies: nobody may edit or delete them locally, Managers included; only the sync writes."""

from AccessControl.Permissions import delete_objects
from Products.CMFCore.permissions import ModifyPortalContent


LOCKED_PERMISSIONS = (ModifyPortalContent, delete_objects)


def lock(obj) -> None:
    """Grant the edit and delete permissions to no role on this object (no acquisition).

    The sync job runs as an unrestricted user, which needs no permission; forms, REST and
    folder contents check these permissions and answer Unauthorized.
    """
    for permission in LOCKED_PERMISSIONS:
        obj.manage_permission(permission, roles=[], acquire=0)
