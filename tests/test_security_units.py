"""Fast tests of the security rules that need no site: caps, names, URLs, intervals."""

import unittest
from datetime import datetime
from datetime import timedelta
from types import SimpleNamespace

from senaite_style_sync.jobs.schedule import next_run
from senaite_style_sync.model import validation
from senaite_style_sync.model.jobs import MAX_LABEL
from senaite_style_sync.model.jobs import MAX_MESSAGE
from senaite_style_sync.model.jobs import Job


class TestCaps(unittest.TestCase):
    def test_recorded_texts_are_capped(self):
        job = Job("lab", "import", "test")
        huge = "x" * 100_000
        job.add_error(huge, "read", huge)
        job.add_warning(huge, "read", huge)
        job.add_difference("uid", huge, "fields", huge)
        for record, text_key in (
            (job.errors[0], "message"),
            (job.warnings[0], "message"),
            (job.differences[0], "detail"),
        ):
            self.assertEqual(len(record[text_key]), MAX_MESSAGE)
            self.assertTrue(record[text_key].endswith("…"))
            self.assertEqual(len(record["object"]), MAX_LABEL)
        job.add_error("/short", "read", "short")
        self.assertEqual((job.errors[1]["object"], job.errors[1]["message"]), ("/short", "short"))


def remote_errors(**changes) -> dict[str, str]:
    data = {"name": "lab1", "url": "https://lab1.example.org/Plone", "conflict_policy": "skip"}
    data |= {"auto_sync_interval": 60, "max_delete_percent": 10} | changes
    return validation.validate_remote(data, is_new=True, taken_names=(), installed_types=())


class TestValidation(unittest.TestCase):
    def test_a_trailing_newline_is_no_identifier(self):
        for field in ("name", "remote_prefix", "local_prefix"):
            with self.subTest(field=field):
                self.assertEqual(remote_errors(**{field: "lab1\n"}).get(field), validation.BAD_IDENTIFIER)
        self.assertEqual(
            remote_errors(import_registry=True, registry_prefixes=["my.addon.\n"]).get("registry_prefixes"),
            validation.BAD_REGISTRY_PREFIX,
        )
        self.assertEqual(remote_errors(), {})

    def test_credentials_in_the_url_are_refused(self):
        for url in ("https://sync:secret@lab1.example.org/Plone", "https://sync@lab1.example.org", "http://:pw@x.org"):
            with self.subTest(url=url):
                self.assertEqual(remote_errors(url=url).get("url"), validation.URL_WITH_CREDENTIALS)
        self.assertEqual(remote_errors(url="https://lab1.example.org:99999/Plone").get("url"), validation.BAD_URL)

    def test_the_interval_is_bounded(self):
        for interval in (0, -5, validation.MAX_INTERVAL + 1, 10**10, True, "60"):
            with self.subTest(interval=interval):
                self.assertEqual(
                    remote_errors(auto_sync_interval=interval).get("auto_sync_interval"), validation.BAD_INTERVAL
                )
        for interval in (1, validation.MAX_INTERVAL):
            self.assertEqual(remote_errors(auto_sync_interval=interval), {})

    def test_next_run_of_a_huge_stored_interval_is_a_date(self):
        last = datetime(2026, 1, 1, 12, 0)
        for interval in (10**10, 0):
            remote = SimpleNamespace(last_auto_run=last, auto_sync_interval=interval)
            with self.subTest(interval=interval):
                self.assertLessEqual(next_run(remote), last + timedelta(minutes=validation.MAX_INTERVAL))
                self.assertGreater(next_run(remote), last)
