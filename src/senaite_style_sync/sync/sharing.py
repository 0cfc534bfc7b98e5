"""Local roles and their inheritance block, as the peer's @sharing reports them, within what sharing may grant."""

from typing import Any

from Acquisition import aq_base
from zope.component import getMultiAdapter


def shareable_roles(obj, request) -> set[str]:
    """The roles this site's Sharing tab offers on ``obj``: the only local roles a peer may set."""
    return {role["id"] for role in getMultiAdapter((obj, request), name="sharing").roles()}


def restore_local_roles(obj, sharing: dict[str, Any], shareable: set[str]) -> bool:
    """Give each principal the roles the peer marks ``true``; take away other shareable roles.

    Only ``shareable`` roles (what this site's Sharing tab offers) are set or taken away, and
    only those of them the peer's Sharing tab offers too: Owner, Manager, Site Administrator
    and any role outside the sharing tab stay as they are, whatever the peer says. Returns
    whether anything changed.
    """
    offered = sharing.get("available_roles")
    offered = offered if isinstance(offered, list) else []
    peer_managed = {role.get("id") for role in offered if isinstance(role, dict)}
    managed = shareable & peer_managed
    wanted: dict[str, set[str]] = {}
    for entry in sharing.get("entries") or ():
        if isinstance(entry, dict) and isinstance(entry.get("id"), str) and isinstance(entry.get("roles"), dict):
            roles = {role for role, value in entry["roles"].items() if value is True and role in managed}
            wanted[entry["id"]] = wanted.get(entry["id"], set()) | roles
    changed = False
    current = dict(obj.get_local_roles())
    for principal in set(current) | set(wanted):
        have = set(current.get(principal, ()))
        new = (have - managed) | wanted.get(principal, set())
        if new != have:
            changed = True
            if new:
                obj.manage_setLocalRoles(principal, sorted(new))
            else:
                obj.manage_delLocalRoles([principal])
    block = sharing.get("inherit", True) is False
    if bool(getattr(aq_base(obj), "__ac_local_roles_block__", False)) != block:
        obj.__ac_local_roles_block__ = block or None
        changed = True
    return changed
