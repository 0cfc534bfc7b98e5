"""One list of pins: versions.cfg (buildout) says what constraints.txt (pip) says."""

import importlib.util
import unittest
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent


def pins_module():
    spec = importlib.util.spec_from_file_location("pins", ROOT / "scripts" / "pins.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestPins(unittest.TestCase):
    def test_versions_cfg_is_generated_from_constraints(self):
        expected = pins_module().versions_cfg((ROOT / "constraints.txt").read_text())
        self.assertEqual((ROOT / "versions.cfg").read_text(), expected, "run `make versions.cfg`")

    def test_every_pin_is_exact_and_listed_once(self):
        names = []
        for line in (ROOT / "constraints.txt").read_text().splitlines():
            if line and not line.startswith("#"):
                name, _, version = line.partition("==")
                self.assertTrue(version, line)
                names.append(name.lower())
        self.assertEqual(len(names), len(set(names)))
