"""Local roles and their inheritance block, as the peer's @sharing reports them, within what sharing may grant."""

from typing import Any

from Acquisition import aq_base
from zope.component import getMultiAdapter


# Principals with local roles on one object; a real Sharing tab lists a few dozen.
MAX_ENTRIES = 10_000


def shareable_roles(obj, request) -> set[str]:
    """The roles this site's Sharing tab offers on ``obj``: the only local roles a peer may set."""
    return {role["id"] for role in getMultiAdapter((obj, request), name="sharing").roles()}


def restore_local_roles(obj, sharing: dict[str, Any], shareable: set[str]) -> bool:
    """Give each principal the roles the peer marks ``true``; take away other shareable roles.

    Only ``shareable`` roles (what this site's Sharing tab offers) are set or taken away, and
    only those of them the peer's Sharing tab offers too: Owner, Manager, Site Administrator
    and any role outside the sharing tab stay as they are, whatever the peer says. Returns
    whether anything changed. ValueError for an answer not shaped as the Sharing tab's: its
    roles would be taken away from principals it names in a way this cannot read.
    """
    check_sharing(sharing)
    offered = sharing.get("available_roles") or []
    peer_managed = {role["id"] for role in offered if isinstance(role.get("id"), str)}
    managed = shareable & peer_managed
    wanted: dict[str, set[str]] = {}
    for entry in sharing.get("entries") or ():
        roles = {role for role, value in entry.get("roles", {}).items() if value is True and role in managed}
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


def check_sharing(sharing: Any) -> None:
    """ValueError unless ``sharing`` is shaped as @sharing answers: ``entries`` a list of
    {"id": text, "roles": {role: value}}, ``available_roles`` a list of {"id": ...}, ``inherit``
    true or false."""
    if not isinstance(sharing, dict):
        raise ValueError("The peer's sharing settings are not an object.")
    entries = sharing.get("entries") or []
    well_formed = (
        isinstance(entries, list)
        and len(entries) <= MAX_ENTRIES
        and all(
            isinstance(entry, dict) and isinstance(entry.get("id"), str) and isinstance(entry.get("roles", {}), dict)
            for entry in entries
        )
    )
    if not well_formed:
        raise ValueError(
            f"The peer's sharing entries are not a list of at most {MAX_ENTRIES} principals with their roles."
        )
    offered = sharing.get("available_roles") or []
    if not isinstance(offered, list) or not all(isinstance(role, dict) for role in offered):
        raise ValueError("The peer's sharing roles are not a list of roles.")
    if not isinstance(sharing.get("inherit", True), bool):
        raise ValueError("The peer's sharing inheritance is not true or false.")
