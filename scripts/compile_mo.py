"""Compile each language's .po file of the add-on into the .mo file Zope reads (make i18n)."""

import sys
from pathlib import Path

from pythongettext.msgfmt import Msgfmt


ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "src" / "senaite_style_sync" / "locales"


def mo_bytes(po_file: Path) -> bytes:
    """The .mo file's bytes for ``po_file``, as zope.i18n would compile it."""
    with po_file.open("rb") as stream:
        return Msgfmt(stream, po_file.stem).get()


def po_files(locales: Path = LOCALES) -> list[Path]:
    return sorted(locales.glob("*/LC_MESSAGES/*.po"))


if __name__ == "__main__":
    for po_file in po_files(Path(sys.argv[1]) if len(sys.argv) > 1 else LOCALES):
        po_file.with_suffix(".mo").write_bytes(mo_bytes(po_file))
