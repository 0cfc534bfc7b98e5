"""What a peer may do to this site's users and groups: the roles it may grant, the groups it may
fill, the ids and properties it may bring.

A role is *privileged* here when it is Manager, Site Administrator or Owner, or when it carries
one of PRIVILEGED_PERMISSIONS on the site root here (a site-specific "Lab Admin" with "Manage
portal", say). The import grants no privileged role and adds nobody to a group that carries one
(directly or through the groups it is in); ``allow_manager_role`` lifts this for Manager alone.
Every other role this site defines (Member, Reader, Contributor, Editor, Reviewer, a
site-specific role without those permissions) may be granted.
"""

import re
from typing import Any

from AccessControl.PermissionRole import rolesForPermissionOn
from Products.CMFCore.utils import getToolByName

from senaite_style_sync.model.jobs import SYSTEM_USERS


PSEUDO_ROLES = frozenset({"Authenticated", "Anonymous"})
MANAGER = "Manager"
ALWAYS_PRIVILEGED = frozenset({MANAGER, "Site Administrator", "Owner"})
PRIVILEGED_PERMISSIONS = (
    "Manage portal",
    "Manage users",
    "senaite_style_sync: Manage remotes",
    "Plone Site Setup: Users and Groups",
    "Plone Site Setup: Overview",
    "Change permissions",
    "View management screens",
)
# Letters, digits and ._@+- (and inner spaces, as in "Site Administrators"); no path, no "..".
PRINCIPAL_ID = re.compile(r"[A-Za-z0-9_@+.-](?:[A-Za-z0-9_@+. -]{0,98}[A-Za-z0-9_@+.-])?")
TEXT_PROPERTIES = {"users": ("email", "fullname", "username"), "groups": ("title", "description")}
MAX_PROPERTY = 1000


class PrincipalError(Exception):
    """One principal cannot be imported (fully); the message is recorded on the job."""


def check_principal(kind: str, data: dict[str, Any]) -> None:
    """PrincipalError unless ``data`` (one entry of the peer's @users or @groups) is sound."""
    principal_id = data.get("id")
    if not PRINCIPAL_ID.fullmatch(principal_id) or ".." in principal_id:
        raise PrincipalError("not a valid id here")
    if principal_id in SYSTEM_USERS:
        raise PrincipalError("this id is reserved for the sync itself")
    for key in TEXT_PROPERTIES[kind]:
        value = data.get(key)
        if value is not None and not (isinstance(value, str) and len(value) <= MAX_PROPERTY and "\n" not in value):
            raise PrincipalError(f"its {key} is not a line of text")
    roles = data.get("roles")
    if roles is not None and not (isinstance(roles, list) and all(isinstance(role, str) for role in roles)):
        raise PrincipalError("its roles are not a list of names")
    login = data.get("username")
    if login and not PRINCIPAL_ID.fullmatch(login):
        raise PrincipalError("its login name is not valid here")


def login_taken(acl_users, login: str, user_id: str) -> bool:
    """Whether another user here has ``login`` as its login name or its id."""
    found = {match["userid"] for match in acl_users.searchUsers(login=login, exact_match=True)}
    return bool(found - {user_id}) or (login != user_id and acl_users.getUserById(login) is not None)


def roles_of(data: dict[str, Any]) -> set[str]:
    """The role names the peer lists for a principal (none when the list is malformed)."""
    roles = data.get("roles")
    return {role for role in roles if isinstance(role, str)} if isinstance(roles, list) else set()


class RolePolicy:
    """The roles of this site an import may grant, and the principals it must leave alone."""

    def __init__(self, site, allow_manager: bool) -> None:
        acl_users = getToolByName(site, "acl_users")
        self.defined = set(acl_users.portal_role_manager.listRoleIds()) | set(site.validRoles())
        administering = {role for perm in PRIVILEGED_PERMISSIONS for role in rolesForPermissionOn(perm, site) or ()}
        self.privileged = ALWAYS_PRIVILEGED | (administering & self.defined)
        self.withheld_roles = self.privileged - ({MANAGER} if allow_manager else set())

    def withheld(self, roles: set[str]) -> set[str]:
        """Those of ``roles`` the import never grants here."""
        return roles & self.withheld_roles

    def administers(self, principal) -> bool:
        """Whether ``principal`` has a privileged role here (its groups' roles included)."""
        return bool(self.privileged.intersection(principal.getRoles()))

    def closed_group(self, group) -> set[str]:
        """The roles that keep the import from adding members to ``group``: the withheld ones it carries."""
        return self.withheld_roles.intersection(group.getRoles())
