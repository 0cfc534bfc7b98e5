"""Write versions.cfg, buildout's pins, from constraints.txt, the one list of pins."""

import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
HEADER = "# Generated from constraints.txt by scripts/pins.py (make versions.cfg): edit constraints.txt.\n[versions]\n"


def versions_cfg(constraints: str) -> str:
    """buildout's [versions] section holding the pins of a pip constraints file."""
    pins = []
    for line in constraints.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins.append(f"{name} = {version}\n")
    return HEADER + "".join(pins)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "versions.cfg"
    target.write_text(versions_cfg((ROOT / "constraints.txt").read_text()))
