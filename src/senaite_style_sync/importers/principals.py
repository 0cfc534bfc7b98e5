"""Import users and groups from the peer's stock ``@users`` and ``@groups``.

Reading them needs the "Plone Site Setup: Users and Groups" permission on the peer
(Manager or Site Administrator there).

Users
    A missing user is created with the peer's user id and login name, e-mail and full
    name, and a long random password (``secrets.token_urlsafe(32)``) that is neither kept
    nor logged: nobody can log in as the user until a password reset (the "forgot your
    password" mail), and the member property ``must_change_password`` is set so Plone's
    login form also asks for a new password. Stock Plone 6 no longer defines that
    property; it is added to ``portal_memberdata`` as a boolean (default False) the first
    time a user is created.
    The user is created with PAS itself (``acl_users._doAddUser``), not with
    ``plone.api.user.create``: that one insists on an e-mail address (the peer's users
    need not have one) and makes its own user id (e.g. a UUID), while the content sync
    copies local roles by the peer's principal ids, so ids must stay the same.
    An existing user (same id) keeps its password; its e-mail and full name follow the
    peer where the peer has a value (an empty value on the peer clears nothing here).

Groups
    Missing groups are created (title, description); existing ones get the peer's title
    and description where the peer has one. The peer's members are added; members that
    exist only here are kept (nothing is ever removed: a group here may have members for
    reasons of its own). Members are added after all users exist, so group-in-group
    membership works too. The virtual group AuthenticatedUsers is never imported.

Roles (global)
    Granted, never revoked: roles given here stay. A user is granted the roles the peer
    gives it directly: ``@users`` reports roles including those the user has through its
    groups, so the roles of the peer groups the user is (transitively) in are taken off;
    those come with the group membership. Authenticated and Anonymous are never granted,
    a role this site does not define is an error of that user or group.

Manager
    Unless ``remote.allow_manager_role``: the Manager role is not granted to anybody,
    the peer's Administrators group is not imported, and nobody is added to a group that
    carries Manager here. Each withheld grant (a user's or group's Manager role, one
    membership of Administrators or of a Manager group) is counted as
    ``job.counts["manager_role_dropped"]``; it is a rule, not an error.

Counts: ``users`` and ``groups`` count the principals created or changed (a second run
against an unchanged peer counts none and writes nothing); failures are errors of step
"users" or "groups", one per principal and problem.
"""

import secrets
import time
from collections.abc import Callable
from typing import Any

import transaction
from plone import api
from Products.CMFCore.utils import getToolByName
from ZODB.POSException import ConflictError
from zope.interface import implementer

from senaite_style_sync.importers.principals_peer import peer_memberships
from senaite_style_sync.importers.principals_peer import read_peer
from senaite_style_sync.interfaces import IImporter
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.peer.http import PeerError
from senaite_style_sync.peer.http import PeerHTTP


PSEUDO_ROLES = frozenset({"Authenticated", "Anonymous"})
MANAGER = "Manager"
VIRTUAL_GROUPS = frozenset({"AuthenticatedUsers"})  # every user is in it: never imported
MANAGER_GROUPS = frozenset({"Administrators"})  # imported only with allow_manager_role
MUST_CHANGE_PASSWORD = "must_change_password"


class PrincipalError(Exception):
    """One principal cannot be imported (fully); the message is recorded on the job."""


# -- the import -----------------------------------------------------------------------


class PrincipalImport:
    def __init__(self, site, remote, job: Job) -> None:
        self.site = site
        self.job = job
        self.allow_manager = bool(remote.allow_manager_role)
        self.acl_users = getToolByName(site, "acl_users")
        self.membership = getToolByName(site, "portal_membership")
        self.groups_tool = getToolByName(site, "portal_groups")
        self.memberdata = getToolByName(site, "portal_memberdata")
        self.role_manager = self.acl_users.portal_role_manager
        self.local_roles = set(self.role_manager.listRoleIds()) | set(site.validRoles())
        self.changed: dict[str, set[str]] = {"users": set(), "groups": set()}

    # plumbing

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
            message = str(error) if isinstance(error, PrincipalError) else f"{type(error).__name__}: {error}"
            self.job.add_error(principal, step, message)

    def wanted_roles(self, principal: str, step: str, roles) -> set[str]:
        """The roles to grant: no pseudo roles, Manager only if allowed, only roles defined here."""
        wanted = set(roles or ()) - PSEUDO_ROLES
        if MANAGER in wanted and not self.allow_manager:
            wanted.discard(MANAGER)
            self.job.count("manager_role_dropped")
        unknown = sorted(wanted - self.local_roles)
        for role in unknown:
            self.job.add_error(principal, step, f"the role {role!r} does not exist here")
        return wanted - set(unknown)

    def grant(self, principal_id: str, kind: str, principal, roles: set[str]) -> None:
        """Grant the roles ``principal`` does not have yet (directly or through its groups)."""
        missing = roles - set(principal.getRoles())
        for role in sorted(missing):
            self.role_manager.assignRoleToPrincipal(role, principal_id)
        if missing:
            self.changed[kind].add(principal_id)

    def local_user(self, user_id: str):
        return self.acl_users.getUserById(user_id)

    def local_group(self, group_id: str):
        return self.groups_tool.getGroupById(group_id)

    # users

    def ensure_must_change_password(self) -> None:
        if not self.memberdata.hasProperty(MUST_CHANGE_PASSWORD):
            self.memberdata.manage_addProperty(MUST_CHANGE_PASSWORD, False, "boolean")

    def user_properties(self, user_id: str, data: dict[str, Any]) -> None:
        """Create the user, or bring e-mail and full name of an existing one up to the peer's."""
        wanted = {key: data[key] for key in ("email", "fullname") if data.get(key)}
        if self.local_user(user_id) is None:
            if self.local_group(user_id) is not None:
                raise PrincipalError("a group here has this id")
            login = data.get("username") or user_id
            self.ensure_must_change_password()
            # Never stored nor logged anywhere: only a password reset lets the user in.
            user = self.acl_users._doAddUser(user_id, secrets.token_urlsafe(32), (), ())
            if user is None:
                raise PrincipalError("this site's user folder did not create the user")
            if login != user_id:
                self.acl_users.updateLoginName(user_id, login)
            member = self.membership.getMemberById(user_id)
            member.setMemberProperties(wanted | {MUST_CHANGE_PASSWORD: True})
            self.changed["users"].add(user_id)
            return
        member = self.membership.getMemberById(user_id)
        changes = {key: value for key, value in wanted.items() if member.getProperty(key, "") != value}
        if changes:
            member.setMemberProperties(changes)
            self.changed["users"].add(user_id)

    def user_roles(self, user_id: str, data: dict[str, Any], inherited: set[str]) -> None:
        user = self.local_user(user_id)
        if user is None:
            return  # its creation failed: already recorded
        roles = self.wanted_roles(user_id, "users", set(data.get("roles") or ()) - inherited)
        self.grant(user_id, "users", user, roles)

    # groups

    def group_properties(self, group_id: str, data: dict[str, Any]) -> None:
        wanted = {key: data[key] for key in ("title", "description") if data.get(key)}
        group = self.local_group(group_id)
        if group is None:
            if self.local_user(group_id) is not None:
                raise PrincipalError("a user here has this id")
            group = api.group.create(
                groupname=group_id, title=wanted.get("title", group_id), description=wanted.get("description", "")
            )
            if group is None:
                raise PrincipalError("this site's group tool did not create the group")
            self.changed["groups"].add(group_id)
            return
        changes = {key: value for key, value in wanted.items() if (group.getProperty(key) or "") != value}
        if changes:
            group.setGroupProperties(changes)
            self.changed["groups"].add(group_id)

    def group_roles(self, group_id: str, data: dict[str, Any]) -> None:
        group = self.local_group(group_id)
        if group is not None:
            self.grant(group_id, "groups", group, self.wanted_roles(group_id, "groups", data.get("roles")))

    def group_members(self, group_id: str, member_ids: list[str]) -> None:
        group = self.local_group(group_id)
        if group is None:
            return  # its creation failed: already recorded
        present = set(self.groups_tool.getGroupMembers(group_id))
        missing = [member for member in member_ids if member not in present]
        if not missing:
            return
        if MANAGER in group.getRoles() and not self.allow_manager:
            self.job.count("manager_role_dropped", len(missing))
            return
        for member in missing:
            if member == group_id:
                continue
            if self.local_user(member) is None and self.local_group(member) is None:
                self.job.add_error(group_id, "groups", f"member {member!r}: no such user or group here")
                continue
            if not self.groups_tool.addPrincipalToGroup(member, group_id):
                self.job.add_error(group_id, "groups", f"member {member!r}: the group tool did not add it")
                continue
            self.changed["groups"].add(group_id)

    # all

    def run(self, users: list[dict[str, Any]], groups: list[dict[str, Any]], member_errors: dict[str, str]) -> None:
        group_roles = {g["id"]: set(g.get("roles") or ()) - PSEUDO_ROLES for g in groups}
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
    """Users and groups (``import_users``), after the registry."""

    order = 20

    def enabled(self, remote) -> bool:
        return bool(remote.import_users)

    def __call__(self, site, remote, job: Job, http: PeerHTTP) -> None:
        import_principals(site, remote, job, http)
