"""Import Users against a hostile peer and a real one: no local account taken over, no privileged grant."""

import transaction
from plone import api

from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.importers.principals import import_principals
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.peer.http import PeerHTTP
from senaite_style_sync.testing import EDITOR_NAME
from senaite_style_sync.testing import SITE_ADMIN_NAME
from senaite_style_sync.testing import SITE_ADMIN_PASSWORD
from tests.hostile_cases import CASES
from tests.hostile_peer import HostilePeer
from tests.hostile_peer import Locals
from tests.test_sync_options import PEER_PASSWORD
from tests.test_sync_options import OptionsTestCase


BOSS, BOSS_PASSWORD, BOSS_EMAIL = "boss", "Boss-Password-1", "boss@here.example"
PRIVILEGED = {"Manager", "Site Administrator", "Owner", "Lab Admin"}


def define_role(site, role, permissions=()):
    """A global role on ``site``, with ``permissions`` on its root."""
    site.acl_users.portal_role_manager.addRole(role)
    site._addRole(role)
    for permission in permissions:
        roles = {r["name"] for r in site.rolesOfPermission(permission) if r["selected"]}
        site.manage_permission(permission, roles=sorted(roles | {role}), acquire=1)


class PrincipalsTestCase(OptionsTestCase):
    def setUp(self):
        super().setUp()
        self.on_portal()
        api.user.create(email=BOSS_EMAIL, username=BOSS, password=BOSS_PASSWORD, roles=("Manager",))
        define_role(self.portal, "Lab Admin", ["Manage portal"])
        define_role(self.portal, "Lab Tech")
        transaction.commit()

    def users(self):
        """Every local user: (e-mail, full name, login, roles here including its groups')."""
        found = {}
        for info in self.portal.acl_users.searchUsers():
            user = self.portal.acl_users.getUserById(info["userid"])
            member = api.user.get(userid=info["userid"])
            roles = frozenset(user.getRoles())
            found[info["userid"]] = (member.getProperty("email"), member.getProperty("fullname"), info["login"], roles)
        return found

    def local_roles(self, user_id):
        self.on_portal()
        return set(self.portal.acl_users.getUserById(user_id).getRoles()) - {"Authenticated"}

    def assert_no_escalation(self, before, allowed=frozenset()):
        after = self.users()
        withheld = PRIVILEGED - set(allowed)
        for user_id, (email, fullname, login, roles) in after.items():
            if user_id in before:
                self.assertEqual((email, fullname, login), before[user_id][:3], user_id)
                self.assertLessEqual(roles & withheld, before[user_id][3], user_id)
            else:
                self.assertEqual(roles & withheld, set(), user_id)
        self.assertNotIn("senaite_style_sync", after)
        request = self.layer["request"]
        self.assertIsNotNone(self.portal.acl_users.authenticate(BOSS, BOSS_PASSWORD, request))


class TestHostilePeer(PrincipalsTestCase):
    def test_no_case_takes_over_an_account_or_grants_a_privileged_role(self):
        cases = [case for case in CASES.values() if case.category == "principals"]
        self.assertGreater(len(cases), 20)
        locals_ = Locals(admin_id=BOSS, user_id=EDITOR_NAME)
        before = self.users()
        with HostilePeer(locals=locals_) as peer:
            for allow_manager in (False, True):
                for case in cases:
                    with self.subTest(case=case.name, allow_manager=allow_manager):
                        peer.set_case(case.name)
                        try:
                            job = self.run_case(peer, allow_manager)
                            self.assert_no_escalation(before, {"Manager"} if allow_manager else ())
                            if case.expect == "skip":
                                self.assertTrue(job.errors, case.name)
                        finally:
                            transaction.abort()  # each case starts from the same site

    def run_case(self, peer, allow_manager):
        settings = {"name": "h", "url": peer.url, "import_users": True, "allow_manager_role": allow_manager}
        remote = create_remote(self.portal, settings)
        job = Job("h", "import", "test")
        import_principals(self.portal, remote, job, PeerHTTP(peer.url, backoff=0.01))
        return job


class TestRealPeer(PrincipalsTestCase):
    def setUp(self):
        super().setUp()
        self.on_source()
        define_role(self.source, "Lab Admin")
        define_role(self.source, "Lab Tech")
        for user_id, roles in (("alice", ["Member", "Lab Tech"]), ("erin", ["Member", "Lab Admin"])):
            api.user.create(email=f"{user_id}@peer.example", username=user_id, password=PEER_PASSWORD, roles=roles)
        for user_id in (BOSS, SITE_ADMIN_NAME):
            api.user.create(email="attacker@evil.example", username=user_id, password=PEER_PASSWORD, roles=["Member"])
            api.user.get(userid=user_id).setMemberProperties({"fullname": "Owned"})
        api.user.create(email="m@evil.example", username="mallory", password=PEER_PASSWORD, roles=["Member", "Owner"])
        api.group.create(groupname="inner", title="Inner", roles=["Reviewer"])
        api.group.add_user(groupname="inner", username="mallory")
        api.group.add_user(groupname="Site Administrators", username="mallory")
        transaction.commit()
        self.on_portal()
        # Here "inner" is inside Site Administrators: whoever joins it administers this site.
        api.group.create(groupname="inner", title="Local inner")
        self.portal.portal_groups.addPrincipalToGroup("inner", "Site Administrators")
        transaction.commit()

    def test_local_accounts_stay_their_owners(self):
        before = self.users()
        self.make_remote(import_users=True)
        job, _ = self.run_import(import_principals)
        self.on_portal()
        self.assert_no_escalation(before)
        request = self.layer["request"]
        self.assertIsNotNone(self.portal.acl_users.authenticate(SITE_ADMIN_NAME, SITE_ADMIN_PASSWORD, request))
        self.assertEqual(api.user.get(userid=BOSS).getProperty("email"), BOSS_EMAIL)
        self.assertEqual(self.local_roles("alice"), {"Member", "Lab Tech"})  # a harmless site role comes
        self.assertEqual(self.local_roles("erin"), {"Member"})  # Lab Admin has "Manage portal" here
        self.assertEqual(self.local_roles("mallory"), {"Member"})
        self.assertNotIn("mallory", self.portal.portal_groups.getGroupMembers("inner"))
        self.assertNotIn("mallory", self.portal.portal_groups.getGroupMembers("Site Administrators"))
        self.assertEqual(api.group.get(groupname="inner").getProperty("title"), "Local inner")
        warnings = {(w["object"], w["message"]) for w in job.warnings}
        self.assertIn(("erin", "the role 'Lab Admin' is not imported: it administers this site"), warnings)
        self.assertIn(("mallory", "the role 'Owner' is not imported: it administers this site"), warnings)
        self.assertIn(("inner", "members are not added: the group has the role(s) Site Administrator here"), warnings)

        # Allowing the Manager role lifts nothing else.
        self.make_remote("managers", import_users=True, allow_manager_role=True)
        self.run_import(import_principals, "managers")
        self.assert_no_escalation(before, {"Manager"})

    def test_only_users_the_sync_created_follow_the_peer(self):
        self.make_remote(import_users=True)
        self.run_import(import_principals)
        self.on_source()
        for user_id in ("alice", BOSS):
            api.user.get(userid=user_id).setMemberProperties({"email": f"new-{user_id}@peer.example"})
        transaction.commit()
        self.run_import(import_principals)
        self.on_portal()
        self.assertEqual(api.user.get(userid="alice").getProperty("email"), "new-alice@peer.example")
        self.assertEqual(api.user.get(userid=BOSS).getProperty("email"), BOSS_EMAIL)

        # Once alice administers this site, her e-mail is hers to change, not the peer's.
        api.user.grant_roles(username="alice", roles=["Site Administrator"])
        transaction.commit()
        self.on_source()
        api.user.get(userid="alice").setMemberProperties({"email": "attacker@evil.example"})
        transaction.commit()
        self.run_import(import_principals)
        self.on_portal()
        self.assertEqual(api.user.get(userid="alice").getProperty("email"), "new-alice@peer.example")

    def test_a_peer_user_cannot_take_a_local_login(self):
        self.on_portal()
        api.user.create(email="here@here.example", username="onlyhere", password=BOSS_PASSWORD)
        transaction.commit()
        self.on_source()
        self.source.acl_users.source_users.updateUser("mallory", "onlyhere")  # a local user's id as login
        transaction.commit()
        self.make_remote(import_users=True)
        job, _ = self.run_import(import_principals)
        self.on_portal()
        self.assertIsNone(api.user.get(userid="mallory"))
        self.assertIn(("mallory", "users", "the login name 'onlyhere' belongs to another user here"), self.errors(job))
