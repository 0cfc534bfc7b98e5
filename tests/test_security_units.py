"""Fast tests of the security rules that need no site: caps, names, URLs, intervals."""

import unittest

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
