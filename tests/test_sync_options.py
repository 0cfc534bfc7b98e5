"""Import Settings / Import Registry / Import Users from the ``source`` site into ``plone`` over HTTP."""

from datetime import datetime
from unittest import mock

import transaction
from plone import api
from plone.registry import Record
from plone.registry import field
from Products.CMFCore.utils import getToolByName

from senaite_style_sync.importers.principals import import_principals
from senaite_style_sync.importers.registry import import_registry
from senaite_style_sync.importers.registry_policy import is_denied
from senaite_style_sync.importers.registry_policy import is_setting
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.peer.http import PeerHTTP
from senaite_style_sync.testing import EDITOR_NAME
from senaite_style_sync.testing import EDITOR_PASSWORD
from senaite_style_sync.testing import SITE_ADMIN_NAME
from tests.sync_helpers import SyncTestCase


PREFIX = "senaite.test."
THEME = "plone.app.theming.interfaces.IThemeSettings."


def custom_records():
    """Records under PREFIX with the field types whose JSON needs converting."""
    return {
        PREFIX + "tags": (field.Tuple(title="Tags", value_type=field.TextLine(title="Tag")), ()),
        PREFIX + "limits": (
            field.Dict(title="Limits", key_type=field.TextLine(title="k"), value_type=field.Int(title="v")),
            {},
        ),
        # A set is not plain JSON: the peer's listing of its page fails, the import reads it alone.
        PREFIX + "flags": (field.Set(title="Flags", value_type=field.TextLine(title="Flag")), set()),
        PREFIX + "ratio": (field.Float(title="Ratio"), 0.0),
        PREFIX + "count": (field.Int(title="Count"), 0),
    }


def registered_objects(site, job):
    """Objects written in the current transaction (also those a savepoint stored already), but
    the job's own bookkeeping."""
    jar = site._p_jar
    bookkeeping = (job, job.counts, job.errors, job.warnings, job.plan)
    mine = {id(obj) for obj in bookkeeping} | {obj._p_oid for obj in bookkeeping if obj._p_oid}
    saved = [jar.get(oid) for oid in jar._savepoint_storage.index] if jar._savepoint_storage is not None else []
    return [obj for obj in [*jar._registered_objects, *saved] if id(obj) not in mine and obj._p_oid not in mine]


class OptionsTestCase(SyncTestCase):
    def registry(self, site):
        return getToolByName(site, "portal_registry")

    def run_import(self, function, name="src", password=None):
        """Run ``function`` as run_step would; return the job and what it wrote (before the commit)."""
        transaction.commit()
        self.on_portal()
        remote = RemoteStorage(self.portal).get(name)
        job = Job(name, "import", "test")
        JobStore(self.portal).add(job)
        transaction.commit()
        http = PeerHTTP(
            remote.url,
            remote.username,
            remote.password() if password is None else password,
            remote.certificate_path,
            backoff=0.01,
        )
        function(self.portal, remote, job, http)
        written = registered_objects(self.portal, job)
        transaction.commit()
        return job, written

    def errors(self, job):
        return [(e["object"], e["step"], e["message"]) for e in job.errors]


class TestRegistryImport(OptionsTestCase):
    def setUp(self):
        super().setUp()
        for site in (self.source, self.portal):
            records = self.registry(site).records
            for name, (record_field, value) in custom_records().items():
                records[name] = Record(record_field, value)
            records["other.prefix.note"] = Record(field.TextLine(title="Note"), "local")
        self.registry(self.source).records[PREFIX + "only_there"] = Record(field.TextLine(title="x"), "peer")
        self.registry(self.source).records["other.prefix.note"].value = "peer"
        transaction.commit()

    def set_on_source(self, values):
        self.on_source()
        registry = self.registry(self.source)
        for name, value in values.items():
            registry[name] = value
        transaction.commit()

    def test_settings_and_prefixed_records_arrive_converted_and_only_once(self):
        stamp = datetime(2024, 5, 6, 7, 8, 9)
        peer_settings = {
            "plone.navigation_depth": 5,
            "plone.displayed_types": ("Document", "Folder"),
            "plone.available_languages": ["en", "de"],
        }
        peer_custom = {
            # Theme records are no Settings (the theme may not be installed here), but an
            # administrator may name their prefix for Import Registry.
            THEME + "custom_css": "body { color: red; }",
            # A datetime breaks the peer's listing page too: the import reads it alone.
            THEME + "custom_css_timestamp": stamp,
            PREFIX + "tags": ("a", "b"),
            PREFIX + "limits": {"samples": 3, "racks": 7},
            PREFIX + "flags": {"urgent", "cold"},
            PREFIX + "ratio": 0.25,
            PREFIX + "count": 42,
        }
        secrets_there = {  # and what is no harmless setting: never imported
            "plone.smtp_host": "mail.peer.example",
            "plone.smtp_pass": "peer-secret",
            "plone.smtp_userid": "peer-user",
            "plone.site_title": "Peer Lab",
            "plone.webstats_js": "<script>peer</script>",
            "plone.enable_self_reg": True,
        }
        self.set_on_source(peer_settings | peer_custom | secrets_there)
        self.on_portal()
        selected = [
            name
            for name in self.registry(self.source).records.keys()
            if name in self.registry(self.portal).records and (name.startswith((PREFIX, THEME)) or is_setting(name))
        ]
        differing = [name for name in selected if self.registry(self.portal)[name] != self.registry(self.source)[name]]
        self.assertGreater(len(differing), len(peer_settings) + len(peer_custom))  # the sites' defaults differ too
        before_secrets = {name: self.registry(self.portal)[name] for name in secrets_there}
        before_other = self.registry(self.portal)["other.prefix.note"]
        self.make_remote(import_settings=True, import_registry=True, registry_prefixes=[PREFIX, THEME])

        job, written = self.run_import(import_registry)
        self.on_portal()
        registry = self.registry(self.portal)
        for name, value in (peer_settings | peer_custom).items():
            with self.subTest(name=name):
                self.assertEqual(registry[name], value)
                self.assertIs(type(registry[name]), type(value))
        self.assertIsInstance(registry[PREFIX + "flags"], set)
        self.assertIsInstance(registry["plone.displayed_types"], tuple)
        for name, value in before_secrets.items():
            self.assertEqual(registry[name], value, name)
        self.assertNotEqual(registry["plone.smtp_pass"], "peer-secret")
        self.assertEqual(registry["other.prefix.note"], before_other)  # not selected
        self.assertEqual(self.errors(job), [(PREFIX + "only_there", "registry", "no such record here")])
        self.assertEqual(job.counts["records"], len(differing))
        source_registry = self.registry(self.source)
        for name in selected:
            self.assertEqual(registry[name], source_registry[name], name)
        self.assertTrue(written)

        again, written = self.run_import(import_registry)
        self.assertEqual(again.counts.get("records", 0), 0)
        self.assertEqual(self.errors(again), [(PREFIX + "only_there", "registry", "no such record here")])
        self.assertEqual(written, [])

        # A change on the peer is a change here; nothing else is written.
        self.set_on_source({"plone.navigation_depth": 6})
        third, written = self.run_import(import_registry)
        self.assertEqual(third.counts.get("records"), 1)
        self.assertEqual(self.registry(self.portal)["plone.navigation_depth"], 6)

    def test_each_option_selects_its_own_records(self):
        self.set_on_source({"plone.navigation_depth": 7, PREFIX + "count": 7})
        self.on_portal()
        depth = self.registry(self.portal)["plone.navigation_depth"]
        self.make_remote("prefixes", import_registry=True, registry_prefixes=[PREFIX])
        self.make_remote("settings", import_settings=True)

        job, _ = self.run_import(import_registry, "prefixes")
        self.assertEqual(self.registry(self.portal)[PREFIX + "count"], 7)
        self.assertEqual(self.registry(self.portal)["plone.navigation_depth"], depth)
        self.assertEqual(job.counts.get("records"), 1)

        self.registry(self.portal)[PREFIX + "count"] = 0
        job, _ = self.run_import(import_registry, "settings")
        self.assertEqual(self.registry(self.portal)["plone.navigation_depth"], 7)
        self.assertEqual(self.registry(self.portal)[PREFIX + "count"], 0)
        self.assertEqual(self.errors(job), [])

    def test_invalid_value_is_one_error_and_the_rest_goes_on(self):
        # Here the record only takes small numbers; the peer has a big one.
        self.on_portal()
        self.registry(self.portal).records[PREFIX + "count"] = Record(field.Int(title="Count", max=10), 0)
        self.set_on_source({PREFIX + "count": 42, PREFIX + "ratio": 0.5})
        self.make_remote(import_registry=True, registry_prefixes=[PREFIX])
        job, _ = self.run_import(import_registry)
        self.assertEqual(self.registry(self.portal)[PREFIX + "count"], 0)
        self.assertEqual(self.registry(self.portal)[PREFIX + "ratio"], 0.5)
        errors = {(obj, step): message for obj, step, message in self.errors(job)}
        self.assertIn("TooBig", errors[(PREFIX + "count", "registry")])
        self.assertIn((PREFIX + "only_there", "registry"), errors)
        self.assertEqual(job.counts.get("errors"), 2)

    def test_a_record_the_peer_cannot_list_and_this_site_lacks_is_one_error(self):
        self.on_source()
        cold_set = field.Set(title="x", value_type=field.TextLine(title="y"))
        self.registry(self.source).records[PREFIX + "cold_set"] = Record(cold_set, {"a"})
        self.set_on_source({PREFIX + "count": 9, PREFIX + "ratio": 0.5})
        self.make_remote(import_registry=True, registry_prefixes=[PREFIX])
        job, _ = self.run_import(import_registry)
        self.assertEqual(self.registry(self.portal)[PREFIX + "count"], 9)
        self.assertEqual(self.registry(self.portal)[PREFIX + "ratio"], 0.5)
        self.assertEqual(
            self.errors(job),
            [
                (PREFIX + "only_there", "registry", "no such record here"),
                (  # "cold_set" sorts first: the listing has no name before it, this site none up to "count"
                    f"between (start) and {PREFIX}count under {PREFIX}",
                    "registry",
                    "the peer could not list 1 record(s) here, and they cannot be named",
                ),
            ],
        )

    def test_unreadable_listing_is_one_error(self):
        self.set_on_source({"plone.navigation_depth": 7})
        self.make_remote(import_settings=True)
        job, written = self.run_import(import_registry, password="wrong-password")
        self.assertEqual(job.counts.get("errors"), 1)
        self.assertIn("refused", job.errors[0]["message"])
        self.assertNotEqual(self.registry(self.portal)["plone.navigation_depth"], 7)
        self.assertEqual(written, [])

    def test_settings_allow_list_and_deny_list(self):
        for name in (
            "plone.smtp_pass",
            "plone.site_title",
            "plone.webstats_js",
            "plone.bundles/plone.csscompilation",
            "plone.cachepurging.interfaces.ICachePurgingSettings.cachingProxies",
            THEME + "custom_css",
        ):
            self.assertFalse(is_setting(name), name)
        for name in ("plone.navigation_depth", "plone.available_languages", "plone.allowed_sizes"):
            self.assertTrue(is_setting(name), name)
        for name in ("plone.webstats_js", "plone.valid_tags", "plone.enable_self_reg", "plone.external_login_url"):
            self.assertTrue(is_denied(name), name)
        self.assertFalse(is_denied(THEME + "custom_css"))


PEER_PASSWORD = "peer-password-1234"


class TestPrincipalsImport(OptionsTestCase):
    def setUp(self):
        super().setUp()
        self.on_source()
        api.user.create(
            email="alice@peer.example",
            username="alice",
            password=PEER_PASSWORD,
            roles=("Member",),
            properties={"fullname": "Alice Analyst"},
        )
        others = (("bob", ("Member", "Site Administrator")), ("carol", ("Member", "Manager")), ("dave", ("Member",)))
        for user_id, roles in others:
            api.user.create(email=f"{user_id}@peer.example", username=user_id, password=PEER_PASSWORD, roles=roles)
        api.group.create(
            groupname="lab-staff", title="Lab staff", description="Everybody in the lab", roles=["Reviewer"]
        )
        api.group.add_user(groupname="lab-staff", username="alice")
        api.group.add_user(groupname="lab-staff", username="bob")
        api.group.add_user(groupname="Administrators", username="dave")
        api.user.get(username=EDITOR_NAME).setMemberProperties({"email": "editor@peer.example"})
        transaction.commit()
        self.assertIsNotNone(self.source.acl_users.authenticate("alice", PEER_PASSWORD, self.layer["request"]))

    def local_roles(self, user_id):
        self.on_portal()
        return set(self.portal.acl_users.getUserById(user_id).getRoles()) - {"Authenticated"}

    def assert_imported(self, job):
        self.on_portal()
        acl_users = self.portal.acl_users
        request = self.layer["request"]
        for user_id in ("alice", "bob", "carol"):
            with self.subTest(user=user_id):
                member = api.user.get(userid=user_id)
                self.assertIsNotNone(member)
                self.assertEqual(member.getUserName(), user_id)
                self.assertEqual(member.getProperty("email"), f"{user_id}@peer.example")
                self.assertIs(member.getProperty("must_change_password"), True)
                for password in (PEER_PASSWORD, "", user_id):
                    self.assertIsNone(acl_users.authenticate(user_id, password, request))
        self.assertEqual(api.user.get(userid="alice").getProperty("fullname"), "Alice Analyst")
        self.assertEqual(self.local_roles("alice"), {"Member", "Reviewer"})
        self.assertEqual(self.local_roles("bob"), {"Member", "Reviewer"})  # Site Administrator: never imported
        group = api.group.get(groupname="lab-staff")
        self.assertIsNotNone(group)
        self.assertEqual(group.getProperty("title"), "Lab staff")
        self.assertEqual(group.getProperty("description"), "Everybody in the lab")
        self.assertIn("Reviewer", group.getRoles())
        self.assertEqual(set(self.portal.portal_groups.getGroupMembers("lab-staff")), {"alice", "bob"})
        # An existing user keeps its own e-mail, password and roles.
        self.assertEqual(api.user.get(userid=EDITOR_NAME).getProperty("email"), "")
        self.assertIsNotNone(acl_users.authenticate(EDITOR_NAME, EDITOR_PASSWORD, request))
        self.assertIn("Editor", self.local_roles(EDITOR_NAME))
        self.assertIs(api.user.get(userid=EDITOR_NAME).getProperty("must_change_password"), False)

    def direct_roles(self, principal_id):
        """Roles assigned to the principal itself, not through groups."""
        manager = self.portal.acl_users.portal_role_manager
        return {role for role in manager.listRoleIds() if principal_id in dict(manager.listAssignedPrincipals(role))}

    def test_users_and_groups_arrive_without_manager(self):
        editor_roles = self.local_roles(EDITOR_NAME)
        self.make_remote(import_users=True)
        job, written = self.run_import(import_principals)
        self.assertEqual(self.errors(job), [])
        self.assert_imported(job)
        self.assertEqual(self.direct_roles("alice"), {"Member"})
        self.assertEqual(self.local_roles("carol"), {"Member"})
        self.assertEqual(self.local_roles("dave"), {"Member"})
        self.assertNotIn("dave", self.portal.portal_groups.getGroupMembers("Administrators"))
        self.assertEqual(job.counts.get("manager_role_dropped"), 2)  # carol's role, dave's membership
        self.assertEqual(job.counts.get("users"), 4)  # alice, bob, carol, dave created
        # A user of this site gets no role from the peer; the run says what it withheld.
        self.assertEqual(self.local_roles(EDITOR_NAME), editor_roles)
        self.assertIn(
            (EDITOR_NAME, "users", "one of this site's own: the role(s) Member the peer gives it are not granted"),
            [(w["object"], w["step"], w["message"]) for w in job.warnings],
        )
        self.assertEqual(job.counts.get("groups"), 1)
        self.assertTrue(written)

        again, written = self.run_import(import_principals)
        self.assertEqual(self.errors(again), [])
        self.assertEqual(again.counts.get("users", 0), 0)
        self.assertEqual(again.counts.get("groups", 0), 0)
        self.assertEqual(written, [])
        self.assert_imported(again)

    def test_import_and_get_updates_jobs_bring_users_with_the_content(self):
        self.make_remote(import_users=True)
        job = self.run_step("import")
        self.assertEqual(list(job.errors), [])
        self.assertEqual(job.counts.get("users"), 4)
        self.assert_imported(job)
        self.assertIn("4 users", job.message)
        again = self.run_step("update")
        self.assertFalse(again.counts.get("users"), dict(again.counts))

    def test_manager_role_comes_only_when_allowed(self):
        self.make_remote(import_users=True, allow_manager_role=True)
        job, _ = self.run_import(import_principals)
        self.assertEqual(self.errors(job), [])
        self.assert_imported(job)
        self.assertIn("Manager", self.local_roles("carol"))
        self.assertIn("Manager", self.direct_roles("carol"))
        self.assertIn("Manager", self.local_roles("dave"))
        self.assertIn("dave", self.portal.portal_groups.getGroupMembers("Administrators"))
        self.assertNotIn("Manager", self.direct_roles("dave"))  # through Administrators
        self.assertFalse(job.counts.get("manager_role_dropped"))

        again, written = self.run_import(import_principals)
        self.assertEqual(again.counts.get("users", 0) + again.counts.get("groups", 0), 0)
        self.assertEqual(written, [])

    def test_local_members_stay_and_manager_groups_get_nobody(self):
        self.on_portal()
        api.group.create(groupname="lab-staff", title="Old title", roles=["Manager"])
        api.group.add_user(groupname="lab-staff", username=SITE_ADMIN_NAME)
        transaction.commit()
        self.make_remote(import_users=True)
        job, _ = self.run_import(import_principals)
        self.on_portal()
        self.assertEqual(self.errors(job), [])
        # lab-staff carries Manager here: alice and bob are not added, the local member stays.
        self.assertEqual(set(self.portal.portal_groups.getGroupMembers("lab-staff")), {SITE_ADMIN_NAME})
        self.assertEqual(api.group.get(groupname="lab-staff").getProperty("title"), "Old title")  # a local group
        self.assertNotIn("Manager", self.local_roles("alice"))
        # carol's role, dave's membership of Administrators, alice's and bob's of lab-staff
        self.assertEqual(job.counts.get("manager_role_dropped"), 4)

        # Without Manager here the group takes the peer's members, and keeps its own; being this
        # site's group, it keeps its own roles too (none): the peer's Reviewer is not granted.
        api.group.revoke_roles(groupname="lab-staff", roles=["Manager"])
        transaction.commit()
        job, _ = self.run_import(import_principals)
        self.on_portal()
        self.assertEqual(set(self.portal.portal_groups.getGroupMembers("lab-staff")), {SITE_ADMIN_NAME, "alice", "bob"})
        self.assertNotIn("Reviewer", self.local_roles("alice"))
        self.assertIn(
            ("lab-staff", "groups", "one of this site's own: the role(s) Reviewer the peer gives it are not granted"),
            [(w["object"], w["step"], w["message"]) for w in job.warnings],
        )

    def test_big_groups_bring_all_their_members(self):
        self.on_source()
        api.group.create(groupname="samplers", title="Samplers")
        for number in range(30):  # the @groups listing shows 25 members of a group
            api.user.create(email=f"s{number}@peer.example", username=f"sampler{number}", password=PEER_PASSWORD)
            api.group.add_user(groupname="samplers", username=f"sampler{number}")
        transaction.commit()
        self.make_remote(import_users=True)
        with mock.patch("senaite_style_sync.importers.principals_peer.MEMBERS_BATCH", 7):  # and 7 a page of its own
            job, _ = self.run_import(import_principals)
        self.assertEqual(self.errors(job), [])
        self.on_portal()
        members = set(self.portal.portal_groups.getGroupMembers("samplers"))
        self.assertEqual(members, {f"sampler{number}" for number in range(30)})

    def test_unreadable_listing_is_one_error(self):
        self.make_remote(import_users=True)
        job, written = self.run_import(import_principals, password="wrong-password")
        self.assertEqual(job.counts.get("errors"), 1)
        self.assertIsNone(api.user.get(userid="alice"))
        self.assertEqual(written, [])
