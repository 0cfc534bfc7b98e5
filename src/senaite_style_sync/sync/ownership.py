"""Who owns a copy, and which view it shows: only what this site offers, never what the peer names."""

from typing import Any

from Acquisition import aq_base
from Acquisition import aq_chain
from Acquisition import aq_inner


def find_user(site, user_id: str):
    """The user ``user_id`` as Zope finds who logs in here: in the site's user folder, else in
    one above it (the Zope root's, where an instance's admin is); None for a group or no one."""
    for holder in aq_chain(aq_inner(site)):
        if getattr(aq_base(holder), "acl_users", None) is None:
            continue
        user = holder.acl_users.getUserById(user_id)
        if user is not None:
            return None if getattr(user, "isGroup", lambda: False)() else user
    return None


def set_owner(site, obj, creators: Any) -> str:
    """The first creator owns the copy: if that is a user here (never a group, nor a user the
    peer made up), as find_user says; else nobody but the site's managers (the returned note
    says so). Like the sharing roles a peer sets on its copies, this gives a user no more
    than rights on that copy."""
    for principal, roles in obj.get_local_roles():
        if "Owner" in roles:
            remaining = [role for role in roles if role != "Owner"]
            if remaining:
                obj.manage_setLocalRoles(principal, remaining)
            else:
                obj.manage_delLocalRoles([principal])
    creator = creators[0] if isinstance(creators, list) and creators and isinstance(creators[0], str) else ""
    if creator and find_user(site, creator) is not None:
        obj.manage_setLocalRoles(creator, ["Owner"])
        return ""
    return f"Its creator {creator!r:.80} is no user of this site: nobody owns the copy here." if creator else ""


def set_layout(obj, layout: Any) -> str:
    """The peer's layout, if it is one this type offers here (else a view the peer names could
    be any view registered for the object); the returned note says when it is not."""
    if not layout or obj.getLayout() == layout:
        return ""
    if layout in {view for view, _title in obj.getAvailableLayouts()}:
        obj.setLayout(layout)
        return ""
    return f"The peer's layout {layout!r:.80} is not one this type offers here: not set."
