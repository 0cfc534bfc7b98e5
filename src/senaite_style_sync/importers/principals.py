"""Import users and groups from the peer's stock ``@users`` and ``@groups``.

Reading them needs the "Plone Site Setup: Users and Groups" permission on the peer
(Manager or Site Administrator there). What a peer may grant is principals_policy.py's.

Who follows the peer
    Only users and groups this import created (``SyncState.created_principals``) follow the
    peer's e-mail, full name, title and description (where the peer has a value), and a user
    only while it has no privileged role here. Users and groups of this site keep theirs: a
    peer listing the local Manager with its own e-mail would own the account after a
    password reset. Login names and passwords of existing users never change. An id that
    names a user and a group (here, or a peer group named like a local user) is an error.

Users
    A missing user is created with the peer's user id and login name (unless another user
    here has that login or id), e-mail and full name, and a long random password that is
    neither kept nor logged: nobody can log in until a password reset, and the member
    property ``must_change_password`` (added to ``portal_memberdata`` when missing) is set.
    PAS creates it (``acl_users._doAddUser``), not ``plone.api.user.create``, which insists
    on an e-mail and makes its own ids: local roles are copied by the peer's principal ids.

Groups
    Missing groups are created (title, description). The peer's members are added after all
    users exist (group-in-group works too); members that exist only here are kept. The
    virtual group AuthenticatedUsers is never imported.

Roles (global)
    Granted, never revoked. A user gets the roles the peer gives it directly (``@users``
    reports them with those of its groups, which come with the memberships). Pseudo roles
    are never granted; a role this site does not define is an error; a privileged role is
    never granted and nobody joins a group that carries one (a warning each). Only users and
    groups this import created get roles, and only they join a group: the site's own keep
    the roles and groups they have (a warning names what the peer would have given).

Manager
    ``remote.allow_manager_role`` lifts the rule above for Manager alone. Without it the
    peer's Administrators group is not imported either, and each withheld Manager grant is
    counted as ``job.counts["manager_role_dropped"]``: a rule, not an error.

Counts: ``users`` and ``groups``, the principals created or changed (none, and no write, for
an unchanged peer); failures are errors of step "users" or "groups", one per principal.
"""
# Over 300 lines with the policy above, kept next to the code that carries it out: the code is
# one class, the import of one peer's users and groups.

import secrets
import time
from collections.abc import Callable
from typing import Any

import transaction
from BTrees.OOBTree import OOTreeSet
from plone import api
from Products.CMFCore.utils import getToolByName
from ZODB.POSException import ConflictError
from zope.interface import implementer

from senaite_style_sync.importers.principals_peer import peer_memberships
from senaite_style_sync.importers.principals_peer import read_peer
from senaite_style_sync.importers.principals_policy import MANAGER
from senaite_style_sync.importers.principals_policy import PSEUDO_ROLES
from senaite_style_sync.importers.principals_policy import PrincipalError
from senaite_style_sync.importers.principals_policy import RolePolicy
from senaite_style_sync.importers.principals_policy import check_principal
from senaite_style_sync.importers.principals_policy import login_taken
from senaite_style_sync.importers.principals_policy import roles_of
from senaite_style_sync.interfaces import IImporter
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.peer.errors import PeerError
from senaite_style_sync.peer.http import PeerHTTP


VIRTUAL_GROUPS = frozenset({"AuthenticatedUsers"})  # every user is in it: never imported
MANAGER_GROUPS = frozenset({"Administrators"})  # imported only with allow_manager_role
MUST_CHANGE_PASSWORD = "must_change_password"
WITHHELD_ROLE = "the role {!r} is not imported: it administers this site"
CLOSED_GROUP = "members are not added: the group has the role(s) {} here"
KEPT_ROLES = "one of this site's own: the role(s) {} the peer gives it are not granted"
KEPT_MEMBER = "member {!r}: one of this site's own, not added by the peer"


# -- the import -----------------------------------------------------------------------


class PrincipalImport:
    def __init__(self, site, remote, job: Job) -> None:
        self.site = site
        self.job = job
        self.allow_manager = bool(remote.allow_manager_role)
        self.policy = RolePolicy(site, self.allow_manager)
        self.acl_users = getToolByName(site, "acl_users")
        self.membership = getToolByName(site, "portal_membership")
        self.groups_tool = getToolByName(site, "portal_groups")
        self.memberdata = getToolByName(site, "portal_memberdata")
        self.role_manager = self.acl_users.portal_role_manager
        self.state = remote.state
        self.changed: dict[str, set[str]] = {"users": set(), "groups": set()}
        self.refused: set[str] = set()  # ids whose properties failed: nothing else is done for them

    def guarded(self, principal: str, step: str, action: Callable[..., None], *args: Any) -> None:
        """One principal's action; its failure is recorded and rolled back, the import goes on."""
        savepoint = transaction.savepoint(optimistic=True)
        changed = {kind: set(ids) for kind, ids in self.changed.items()}
        try:
            action(*args)
        except ConflictError:
            raise
        except Exception as error:  # noqa: BLE001 -- one principal's failure must not stop the import
            savepoint.rollback()  # also takes back what the action counted on the job
            self.changed = changed
            self.refused.add(principal)
            message = str(error) if isinstance(error, PrincipalError) else f"{type(error).__name__}: {error}"
            self.job.add_error(principal, step, message)

    def wanted_roles(self, principal: str, step: str, roles, held=()) -> set[str]:
        """The roles to grant: no pseudo roles, no privileged ones (see RolePolicy), only roles defined here.
        Those it ``held`` already are none of them: nothing is withheld (a local group of the same name)."""
        wanted = set(roles or ()) - PSEUDO_ROLES - set(held)
        for role in sorted(self.policy.withheld(wanted)):
            if role == MANAGER:
                self.job.count("manager_role_dropped")
            else:
                self.job.add_warning(principal, step, WITHHELD_ROLE.format(role))
        wanted -= self.policy.withheld(wanted)
        unknown = sorted(wanted - self.policy.defined)
        for role in unknown:
            self.job.add_error(principal, step, f"the role {role!r} does not exist here")
        return wanted - set(unknown)

    def remember(self, principal_id: str) -> None:
        """Record a user or group this import created (SyncState.created_principals)."""
        if not isinstance(self.state.created_principals, OOTreeSet):
            self.state.created_principals = OOTreeSet()
        self.state.created_principals.add(principal_id)

    def grant(self, principal_id: str, kind: str, principal, roles: set[str]) -> None:
        """Grant the roles ``principal`` does not have yet (directly or through its groups)."""
        missing = roles - set(principal.getRoles())
        for role in sorted(missing):
            self.role_manager.assignRoleToPrincipal(role, principal_id)
        if missing:
            self.changed[kind].add(principal_id)

    def keeps_own(self, principal_id: str, step: str, roles: set[str], principal) -> bool:
        """Is this one of the site's own principals (not created by this import)? Then the peer
        grants it nothing: a warning names the roles it would have given."""
        if principal_id in self.state.created_principals:
            return False
        missing = sorted(roles - set(principal.getRoles()))
        if missing:
            self.job.add_warning(principal_id, step, KEPT_ROLES.format(", ".join(missing)))
        return True

    def local_user(self, user_id: str):
        return self.acl_users.getUserById(user_id)

    def local_group(self, group_id: str):
        return self.groups_tool.getGroupById(group_id)

    # users

    def ensure_must_change_password(self) -> None:
        if not self.memberdata.hasProperty(MUST_CHANGE_PASSWORD):
            self.memberdata.manage_addProperty(MUST_CHANGE_PASSWORD, False, "boolean")

    def user_properties(self, user_id: str, data: dict[str, Any]) -> None:
        """Create the user, or bring e-mail and full name of one this import created up to the peer's."""
        check_principal("users", data)
        if self.local_group(user_id) is not None:
            raise PrincipalError("a group here has this id")
        wanted = {key: data[key] for key in ("email", "fullname") if data.get(key)}
        user = self.local_user(user_id)
        if user is None:
            login = data.get("username") or user_id
            if login_taken(self.acl_users, login, user_id):
                raise PrincipalError(f"the login name {login!r} belongs to another user here")
            self.ensure_must_change_password()
            # Never stored nor logged anywhere: only a password reset lets the user in.
            user = self.acl_users._doAddUser(user_id, secrets.token_urlsafe(32), (), ())
            if user is None:
                raise PrincipalError("this site's user folder did not create the user")
            if login != user_id:
                self.acl_users.updateLoginName(user_id, login)
            member = self.membership.getMemberById(user_id)
            member.setMemberProperties(wanted | {MUST_CHANGE_PASSWORD: True})
            self.remember(user_id)
            self.changed["users"].add(user_id)
            return
        if user_id not in self.state.created_principals or self.policy.administers(user):
            return  # a user of this site, or one who administers it: its own e-mail and name stay
        member = self.membership.getMemberById(user_id)
        changes = {key: value for key, value in wanted.items() if member.getProperty(key, "") != value}
        if changes:
            member.setMemberProperties(changes)
            self.changed["users"].add(user_id)

    def user_roles(self, user_id: str, data: dict[str, Any], inherited: set[str]) -> None:
        user = self.local_user(user_id)
        if user is None or user_id in self.refused:
            return  # its creation failed: already recorded
        if self.keeps_own(user_id, "users", roles_of(data) - inherited - PSEUDO_ROLES, user):
            return
        roles = self.wanted_roles(user_id, "users", roles_of(data) - inherited, user.getRoles())
        self.grant(user_id, "users", user, roles)

    # groups

    def group_properties(self, group_id: str, data: dict[str, Any]) -> None:
        check_principal("groups", data)
        if self.local_user(group_id) is not None:
            raise PrincipalError("a user here has this id")
        wanted = {key: data[key] for key in ("title", "description") if data.get(key)}
        group = self.local_group(group_id)
        if group is None:
            group = api.group.create(
                groupname=group_id, title=wanted.get("title", group_id), description=wanted.get("description", "")
            )
            if group is None:
                raise PrincipalError("this site's group tool did not create the group")
            self.remember(group_id)
            self.changed["groups"].add(group_id)
            return
        if group_id not in self.state.created_principals:
            return  # a group of this site: its own title and description stay
        changes = {key: value for key, value in wanted.items() if (group.getProperty(key) or "") != value}
        if changes:
            group.setGroupProperties(changes)
            self.changed["groups"].add(group_id)

    def group_roles(self, group_id: str, data: dict[str, Any]) -> None:
        group = self.local_group(group_id)
        if group is not None and group_id not in self.refused:
            if self.keeps_own(group_id, "groups", roles_of(data) - PSEUDO_ROLES, group):
                return
            roles = self.wanted_roles(group_id, "groups", roles_of(data), group.getRoles())
            self.grant(group_id, "groups", group, roles)

    def group_members(self, group_id: str, member_ids: list[str]) -> None:
        group = self.local_group(group_id)
        if group is None or group_id in self.refused:
            return  # its creation failed: already recorded
        present = set(self.groups_tool.getGroupMembers(group_id))
        missing = [member for member in member_ids if member not in present]
        if not missing:
            return
        closed = self.policy.closed_group(group)
        if closed == {MANAGER}:
            self.job.count("manager_role_dropped", len(missing))
            return
        if closed:
            self.job.add_warning(group_id, "groups", CLOSED_GROUP.format(", ".join(sorted(closed))))
            return
        for member in missing:
            if member == group_id:
                continue
            if self.local_user(member) is None and self.local_group(member) is None:
                self.job.add_error(group_id, "groups", f"member {member!r}: no such user or group here")
                continue
            if member not in self.state.created_principals:
                self.job.add_warning(group_id, "groups", KEPT_MEMBER.format(member))
                continue
            if not self.groups_tool.addPrincipalToGroup(member, group_id):
                self.job.add_error(group_id, "groups", f"member {member!r}: the group tool did not add it")
                continue
            self.changed["groups"].add(group_id)

    # all

    def run(self, users: list[dict[str, Any]], groups: list[dict[str, Any]], member_errors: dict[str, str]) -> None:
        group_roles = {g["id"]: roles_of(g) - PSEUDO_ROLES for g in groups}
        always = set().union(*(group_roles.get(g, set()) for g in VIRTUAL_GROUPS))
        memberships = peer_memberships(groups)
        imported_groups = []
        for group in groups:
            if group["id"] in VIRTUAL_GROUPS:
                continue
            if group["id"] in MANAGER_GROUPS and not self.allow_manager:
                self.job.count("manager_role_dropped", len(group["member_ids"]))
                continue
            imported_groups.append(group)

        for data in users:
            self.guarded(data["id"], "users", self.user_properties, data["id"], data)
        for group in imported_groups:
            self.guarded(group["id"], "groups", self.group_properties, group["id"], group)
            self.guarded(group["id"], "groups", self.group_roles, group["id"], group)
        self.job.heartbeat = time.time()
        for group in imported_groups:
            if group["id"] in member_errors:
                self.job.add_error(group["id"], "groups", f"its members cannot be read: {member_errors[group['id']]}")
                continue
            self.guarded(group["id"], "groups", self.group_members, group["id"], group["member_ids"])
        for data in users:
            inherited = always.union(*(group_roles.get(g, set()) for g in memberships.get(data["id"], ())))
            self.guarded(data["id"], "users", self.user_roles, data["id"], data, inherited)
        self.job.count("users", len(self.changed["users"]))
        self.job.count("groups", len(self.changed["groups"]))
        self.job.heartbeat = time.time()


def import_principals(site, remote, job: Job, http: PeerHTTP) -> None:
    """Import the peer's users and groups into ``site`` (see the module's docstring for the rules).

    A listing that cannot be read is recorded as one error and nothing is written. Never
    commits (the caller does).
    """
    job.heartbeat = time.time()
    try:
        users, groups, member_errors = read_peer(http)
    except PeerError as error:
        job.add_error("@users/@groups", "users", str(error))
        return
    PrincipalImport(site, remote, job).run(users, groups, member_errors)


@implementer(IImporter)
class UsersImporter:
    """Users and groups (``import_users``), before the content: a copy's creator owns it only
    when that is a user here, and its local roles name users and groups."""

    order = 20
    before_content = True

    def enabled(self, remote) -> bool:
        return bool(remote.import_users)

    def __call__(self, site, remote, job: Job, http: PeerHTTP) -> None:
        import_principals(site, remote, job, http)
