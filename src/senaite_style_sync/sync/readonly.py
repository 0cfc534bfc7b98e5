"""Read-only copies: nobody may edit or delete them locally, Managers included; only the sync writes."""

from AccessControl.Permissions import delete_objects
from Products.CMFCore.permissions import ModifyPortalContent
from Products.CMFCore.utils import getToolByName


LOCKED_PERMISSIONS = (ModifyPortalContent, delete_objects)


def lock(obj) -> None:
    """Grant the edit and delete permissions to no role on this object (no acquisition).

    The sync job runs as an unrestricted user, which needs no permission; forms, REST and
    folder contents check these permissions and answer Unauthorized.
    """
    for permission in LOCKED_PERMISSIONS:
        obj.manage_permission(permission, roles=[], acquire=0)


def is_locked(obj) -> bool:
    return all(
        not obj.acquiredRolesAreUsedBy(permission)
        and not [role for role in obj.rolesOfPermission(permission) if role["selected"]]
        for permission in LOCKED_PERMISSIONS
    )


def unlock(obj) -> None:
    """Give the permissions back to acquisition and to the object's workflow state."""
    for permission in LOCKED_PERMISSIONS:
        obj.manage_permission(permission, roles=[], acquire=1)
    for workflow in getToolByName(obj, "portal_workflow").getWorkflowsFor(obj):
        workflow.updateRoleMappingsFor(obj)
