"""Local roles and their inheritance block, as the peer's @sharing reports them."""

from typing import Any

from Acquisition import aq_base


def restore_local_roles(obj, sharing: dict[str, Any]) -> bool:
    """Give each principal the roles the peer marks ``true``; take away other shareable roles.

    Only roles offered by @sharing are managed: Owner and roles outside the sharing
    page stay as they are. Returns whether anything changed.
    """
    managed = {role["id"] for role in sharing.get("available_roles", ())}
    wanted = {
        entry["id"]: {role for role, value in (entry.get("roles") or {}).items() if value is True}
        for entry in sharing.get("entries", ())
    }
    changed = False
    current = dict(obj.get_local_roles())
    for principal in set(current) | set(wanted):
        have = set(current.get(principal, ()))
        keep = have - managed
        new = keep | wanted.get(principal, set())
        if new != have:
            changed = True
            if new:
                obj.manage_setLocalRoles(principal, sorted(new))
            else:
                obj.manage_delLocalRoles([principal])
    block = not sharing.get("inherit", True)
    if bool(getattr(aq_base(obj), "__ac_local_roles_block__", False)) != block:
        obj.__ac_local_roles_block__ = block or None
        changed = True
    return changed
