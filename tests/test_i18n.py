"""Translations: the .pot holds every message, es and de translate all of them, the .mo files are current,
and the pages, status messages, form errors and REST errors speak the language the browser asks for."""

import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import requests
import transaction
from i18ndude.catalog import MessageCatalog
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from plone.registry.interfaces import IRegistry
from zope.component import getUtility
from zope.i18nmessageid import Message

from senaite_style_sync.actions.messages import message
from senaite_style_sync.model import validation
from senaite_style_sync.testing import SYNC_FUNCTIONAL_TESTING
from tests.browser_helpers import InProcessBrowser


ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "senaite_style_sync"
LOCALES = PACKAGE / "locales"
POT = LOCALES / "senaite_style_sync.pot"
LANGUAGES = ("es", "de")
PLACEHOLDER = re.compile(r"\$\{\w+\}")


def msgids(path: Path) -> set[str]:
    return {msgid for msgid in MessageCatalog(filename=str(path)) if msgid}


def compile_script():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import compile_mo
    finally:
        sys.path.pop(0)
    return compile_mo


class TestCatalogs(unittest.TestCase):
    def test_pot_holds_every_message_of_the_code_and_templates(self):
        with tempfile.TemporaryDirectory() as tmp:
            extracted = Path(tmp) / "extracted.pot"
            i18ndude = Path(sys.executable).parent / "i18ndude"
            subprocess.run(
                [str(i18ndude), "rebuild-pot", "--pot", str(extracted), "--create", "senaite_style_sync", str(PACKAGE)],
                check=True,
                capture_output=True,
            )
            self.assertEqual(msgids(extracted), msgids(POT), "run `make i18n`")
        self.assertGreater(len(msgids(POT)), 250)

    def test_every_language_translates_every_message(self):
        expected = msgids(POT)
        for language in LANGUAGES:
            catalog = MessageCatalog(filename=str(LOCALES / language / "LC_MESSAGES" / "senaite_style_sync.po"))
            with self.subTest(language=language):
                self.assertEqual({msgid for msgid in catalog if msgid}, expected, "run `make i18n`")
                for msgid in expected:
                    translation = catalog[msgid].msgstr
                    self.assertTrue(translation, f"{language}: no translation of {msgid!r}")
                    self.assertEqual(
                        sorted(PLACEHOLDER.findall(translation)), sorted(PLACEHOLDER.findall(msgid)), msgid
                    )

    def test_mo_files_are_compiled_from_the_po_files(self):
        compile_mo = compile_script()
        po_files = compile_mo.po_files()
        self.assertEqual([path.parent.parent.name for path in po_files], sorted(LANGUAGES))
        for po_file in po_files:
            with self.subTest(po=po_file.parent.parent.name):
                self.assertEqual(po_file.with_suffix(".mo").read_bytes(), compile_mo.mo_bytes(po_file), "make i18n")

    def test_messages_of_the_layers_below_are_known(self):
        constants = [value for name, value in vars(validation).items() if name.isupper() and isinstance(value, str)]
        self.assertGreater(len(constants), 15)
        for text in constants:
            with self.subTest(text=text):
                self.assertIsInstance(message(text.format("Foo")), Message)
        found = message("The peer cannot be reached: [Errno 111] Connection refused.")
        self.assertEqual(found, "The peer cannot be reached: ${reason}.")
        self.assertEqual(found.mapping, {"reason": "[Errno 111] Connection refused"})
        self.assertNotIsInstance(message("Something nobody wrote down."), Message)


class TestPagesInTheBrowsersLanguage(InProcessBrowser, unittest.TestCase):
    layer = SYNC_FUNCTIONAL_TESTING

    def setUp(self):
        super().setUp()
        registry = getUtility(IRegistry, context=self.portal)
        registry["plone.available_languages"] = ["en", *LANGUAGES]
        registry["plone.use_request_negotiation"] = True
        transaction.commit()

    def speaking(self, language):
        self.browser.addHeader("Accept-Language", language)

    def test_sync_page_and_form_in_spanish(self):
        self.speaking("es")
        self.browser.open(f"{self.portal_url}/@@sync")
        text = self.text()
        for spanish in ("Sincronización", "Añadir un remoto nuevo", "Todavía no hay remotos."):
            self.assertIn(spanish, text)
        self.assertNotIn("Add New Remote", text)

        self.browser.getLink("Añadir un remoto nuevo").click()
        text = self.text()
        for spanish in (
            "Añadir un remoto nuevo",
            "Conexión",
            "Opciones de importación",
            "Tipos de contenido de sincronización completa",
            "Probar la conexión",
            "Guardar y obtener",
        ):
            self.assertIn(spanish, text)
        self.browser.getControl(name="form.widgets.name").value = "lab1"
        self.browser.getControl(name="form.widgets.url").value = "ftp://lab1"
        self.browser.getControl(name="form.buttons.save").click()
        self.assertIn("Indique una URL http:// o https:// con un nombre de host.", self.text())
        self.browser.getControl(name="form.widgets.url").value = "https://lab1.example.org"
        self.browser.getControl(name="form.buttons.save").click()
        text = self.text()
        self.assertIn("Remoto «lab1» guardado.", text)
        for spanish in (
            "Obtener",
            "Obtener actualizaciones",
            "Más acciones",
            "Sincronización completa: todos los tipos",
        ):
            self.assertIn(spanish, text)

    def test_sync_page_in_german_and_english(self):
        self.speaking("de")
        self.browser.open(f"{self.portal_url}/@@sync")
        self.assertIn("Neue Gegenstelle hinzufügen", self.text())
        english = self.browser_as(SITE_OWNER_NAME, SITE_OWNER_PASSWORD)
        english.open(f"{self.portal_url}/@@sync")
        self.assertIn("Add New Remote", english.contents)

    def test_rest_errors_in_the_requests_language(self):
        response = requests.post(
            f"http://{self.layer['host']}:{self.layer['port']}/plone/@sync-remotes",
            json={"name": "lab 1", "url": "https://lab1.example.org", "color": "red"},
            auth=(SITE_OWNER_NAME, SITE_OWNER_PASSWORD),
            headers={"Accept": "application/json", "Accept-Language": "de"},
            timeout=30,
        )
        self.assertEqual(response.status_code, 400)
        error = response.json()["error"]
        self.assertEqual(error["message"], "Die Einstellungen der Gegenstelle sind ungültig.")
        self.assertEqual(error["errors"], {"color": "Unbekanntes Feld."})


if __name__ == "__main__":
    unittest.main()
