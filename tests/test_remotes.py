"""Remote storage, validation and encrypted passwords (integration)."""

import os
import stat
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import transaction
from cryptography.fernet import Fernet
from zope.annotation.interfaces import IAnnotations

from senaite_style_sync.actions.remotes import InvalidRemote
from senaite_style_sync.actions.remotes import create_remote
from senaite_style_sync.actions.remotes import edit_remote
from senaite_style_sync.model import credentials
from senaite_style_sync.model import validation
from senaite_style_sync.model.storage import ANNOTATION_KEY
from senaite_style_sync.model.storage import RemoteStorage
from senaite_style_sync.testing import SYNC_FUNCTIONAL_TESTING
from senaite_style_sync.testing import SYNC_INTEGRATION_TESTING


PASSWORD = "Unmistakable-Pa55word-4711"
VALID = {"name": "lab1", "url": "https://lab1.example.org/Plone", "username": "sync", "password": PASSWORD}


class TestCreateAndEdit(unittest.TestCase):
    layer = SYNC_INTEGRATION_TESTING

    def setUp(self):
        self.portal = self.layer["portal"]

    def invalid(self, data, is_new=True):
        with self.assertRaises(InvalidRemote) as caught:
            create_remote(self.portal, data)
        return caught.exception.errors

    def test_reading_an_empty_storage_writes_nothing(self):
        storage = RemoteStorage(self.portal)
        self.assertEqual(list(storage), [])
        self.assertIsNone(storage.get("x"))
        self.assertNotIn(ANNOTATION_KEY, IAnnotations(self.portal))

    def test_create_stores_settings_and_encrypted_password(self):
        remote = create_remote(
            self.portal,
            VALID
            | {
                "remote_prefix": "lab1",
                "prefixable_types": ["Document", "Folder", "Document"],
                "auto_sync": True,
                "auto_sync_interval": 15,
            },
        )
        stored = RemoteStorage(self.portal).get("lab1")
        self.assertIs(stored, remote)
        self.assertEqual(stored.url, VALID["url"])
        self.assertEqual(stored.prefixable_types, ["Document", "Folder"])
        self.assertEqual(stored.auto_sync_interval, 15)
        self.assertTrue(stored.auto_sync)
        self.assertNotIn(PASSWORD.encode(), stored._password_token)
        self.assertEqual(stored.password(), PASSWORD)
        self.assertNotIn("password", stored.settings())

    def test_every_validation_error(self):
        create_remote(self.portal, VALID)
        cert_dir = tempfile.mkdtemp()
        cases = [
            ({"name": "lab1"}, "name", validation.DUPLICATE_NAME),
            ({"name": "lab 2!"}, "name", validation.BAD_IDENTIFIER),
            ({"name": ""}, "name", validation.MISSING),
            ({"url": "ftp://lab2.example.org"}, "url", validation.BAD_URL),
            ({"url": "lab2.example.org"}, "url", validation.BAD_URL),
            ({"url": ""}, "url", validation.MISSING),
            ({"prefixable_types": ["Document"]}, "remote_prefix", validation.TYPES_WITHOUT_PREFIX),
            ({"remote_prefix": "lab2"}, "prefixable_types", validation.PREFIX_WITHOUT_TYPES),
            ({"remote_prefix": "la b", "prefixable_types": ["Document"]}, "remote_prefix", validation.BAD_IDENTIFIER),
            ({"local_prefix": "x.y"}, "local_prefix", validation.BAD_IDENTIFIER),
            ({"update_only_types": ["Document"]}, "local_prefix", validation.UPDATE_ONLY_WITHOUT_LOCAL_PREFIX),
            ({"certificate_path": "/nonexistent/ca.pem"}, "certificate_path", validation.UNREADABLE_CERTIFICATE),
            ({"certificate_path": cert_dir}, "certificate_path", validation.UNREADABLE_CERTIFICATE),
            ({"skipped_types": ["NoSuchType"]}, "skipped_types", validation.UNKNOWN_TYPE.format("NoSuchType")),
            ({"auto_sync_interval": 0}, "auto_sync_interval", validation.BAD_INTERVAL),
            ({"password": ""}, "password", validation.PASSWORD_MISSING),
        ]
        for change, field, message in cases:
            with self.subTest(change=change):
                errors = self.invalid(VALID | {"name": "lab2"} | change)
                self.assertEqual(errors.get(field), message, errors)
        self.assertEqual([r.name for r in RemoteStorage(self.portal)], ["lab1"])

    def test_several_errors_reported_at_once(self):
        errors = self.invalid({"name": "bad name", "url": "mailto:x", "update_only_types": ["Document"]})
        self.assertEqual(set(errors), {"name", "url", "local_prefix"})

    def test_readable_certificate_accepted(self):
        with tempfile.NamedTemporaryFile(suffix=".pem") as cert:
            remote = create_remote(self.portal, VALID | {"certificate_path": cert.name})
        self.assertEqual(remote.certificate_path, cert.name)

    def test_edit_without_password_keeps_it(self):
        remote = create_remote(self.portal, VALID)
        token = remote._password_token
        edit_remote(remote, {"url": "https://lab1.example.org/Other", "password": ""})
        self.assertEqual(remote.url, "https://lab1.example.org/Other")
        self.assertEqual(remote._password_token, token)
        edit_remote(remote, {"password": "new-secret"})
        self.assertEqual(remote.password(), "new-secret")

    def test_invalid_edit_changes_nothing(self):
        remote = create_remote(self.portal, VALID)
        with self.assertRaises(InvalidRemote) as caught:
            edit_remote(remote, {"url": "gopher://x", "local_prefix": "ok", "password": "other"})
        self.assertEqual(set(caught.exception.errors), {"url"})
        self.assertEqual(remote.url, VALID["url"])
        self.assertEqual(remote.local_prefix, "")
        self.assertEqual(remote.password(), PASSWORD)

    def test_name_cannot_change_on_edit(self):
        remote = create_remote(self.portal, VALID)
        edit_remote(remote, {"name": "other"})
        self.assertEqual(remote.name, "lab1")
        self.assertIn("lab1", RemoteStorage(self.portal))


class TestPasswordAtRest(unittest.TestCase):
    layer = SYNC_FUNCTIONAL_TESTING

    def test_password_not_in_pickled_records(self):
        portal = self.layer["portal"]
        create_remote(portal, VALID)
        transaction.commit()
        storage = portal._p_jar.db().storage
        tree = IAnnotations(portal)[ANNOTATION_KEY]
        records = [storage.load(obj._p_oid)[0] for obj in (tree, tree["lab1"], tree["lab1"].last_runs)]
        records.append(storage.load(portal._p_oid)[0])
        self.assertTrue(any(b"lab1.example.org" in record for record in records))
        for record in records:
            self.assertNotIn(PASSWORD.encode(), record)
            self.assertNotIn(PASSWORD.encode("utf-16-le"), record)


class TestKey(unittest.TestCase):
    """The encryption key: from the environment, else a 0600 file outside the ZODB."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.environ = mock.patch.dict(os.environ)
        self.environ.start()
        os.environ.pop(credentials.ENV_KEY, None)
        self.addCleanup(self.environ.stop)
        self.addCleanup(credentials._fernets.clear)

    def use_key_file(self, path):
        return mock.patch.object(credentials, "product_config", return_value={"key-file": str(path)})

    def test_key_file_generated_private_and_reused(self):
        key_file = self.tmp / "sub" / "sync.key"
        with self.use_key_file(key_file):
            token = credentials.encrypt("secret")
            self.assertTrue(key_file.exists())
            self.assertEqual(stat.S_IMODE(key_file.stat().st_mode), 0o600)
            credentials._fernets.clear()
            self.assertEqual(credentials.decrypt(token), "secret")
        self.assertEqual(Fernet(key_file.read_bytes().strip()).decrypt(token), b"secret")

    def test_other_key_cannot_decrypt(self):
        with self.use_key_file(self.tmp / "a.key"):
            token = credentials.encrypt("secret")
        with self.use_key_file(self.tmp / "b.key"):
            with self.assertRaises(credentials.CredentialError):
                credentials.decrypt(token)

    def test_environment_key_wins(self):
        key = Fernet.generate_key()
        os.environ[credentials.ENV_KEY] = key.decode()
        with self.use_key_file(self.tmp / "unused.key"):
            token = credentials.encrypt("secret")
        self.assertFalse((self.tmp / "unused.key").exists())
        self.assertEqual(Fernet(key).decrypt(token), b"secret")
