"""Field writers: each kind of field is written by an IFieldWriter adapter, found for (field, object, request).

The default writer goes through plone.restapi's field deserializer. Rich text is stored
as the peer sent it, with its URLs in the form Plone stores them (links.py), not through
the rich-text deserializer, which would unescape entities; so is a Link's URL. Files and
images are set from downloaded temporary files. Relations are left for the second pass,
once their targets exist.
"""

import codecs
import os
import shutil
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any
from urllib.parse import urlsplit

from Acquisition import aq_base
from plone.app.contenttypes.interfaces import ILink
from plone.app.textfield.interfaces import IRichText
from plone.app.textfield.value import RichTextValue
from plone.dexterity.utils import iterSchemata
from plone.namedfile.file import NamedBlobFile
from plone.namedfile.file import NamedBlobImage
from plone.namedfile.file import NamedFile
from plone.namedfile.file import NamedImage
from plone.namedfile.interfaces import INamedBlobFileField
from plone.namedfile.interfaces import INamedBlobImageField
from plone.namedfile.interfaces import INamedField
from plone.namedfile.interfaces import INamedImageField
from plone.restapi.interfaces import IFieldDeserializer
from z3c.form.interfaces import IDataManager
from z3c.relationfield.interfaces import IRelation
from z3c.relationfield.interfaces import IRelationList
from zope.component import adapter
from zope.component import queryMultiAdapter
from zope.interface import Interface
from zope.interface import implementer
from zope.schema import getFieldsInOrder
from zope.schema.interfaces import ICollection
from zope.schema.interfaces import IField
from zope.schema.interfaces import IText
from zope.schema.interfaces import ITextLine
from zope.schema.interfaces import RequiredMissing

from senaite_style_sync.interfaces import IFieldWriter
from senaite_style_sync.sync.active_html import is_active
from senaite_style_sync.sync.active_html import safe_text
from senaite_style_sync.sync.links import PORTAL_URL
from senaite_style_sync.sync.links import LinkConverter


# Never written from the peer's values: dates are set last (deserializers cut them to the
# minute), the id is the sync's to choose (prefixes; IShortName would rename the object).
SET_APART = frozenset({"effective", "expires", "changeNote", "id"})
# The longest rich text taken from the peer (embedded images make a few MiB at most).
MAX_TEXT = 16 * 2**20
# The longest file name or content type a file takes from the peer (file systems allow 255 bytes).
MAX_FILENAME = 1000
# The JSON of an empty value: what the peer sends for a field it has empty.
EMPTY = (None, "", [], {})
# The schemes a Link's URL may have (or none: a path); never javascript:, data: and the like.
LINK_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "mailto", "tel", "sms", "news", "callto"})


@dataclass
class WriteIO:
    """What field writers get besides the value, and where relation writers leave their targets."""

    links: LinkConverter  # the peer's URLs made into resolveuid links
    blob_files: dict[str, str]  # field name -> downloaded temporary file
    stored_fields: frozenset[str] = frozenset()  # served as stored (resolveuid links already), not rendered
    relations: dict[str, list[str]] = dataclass_field(default_factory=dict)  # field name -> targets
    filtered: list[str] = dataclass_field(default_factory=list)  # rich-text fields whose scripts were removed
    kept_blobs: dict[str, str] = dataclass_field(default_factory=dict)  # field name -> sha256 the copy holds

    def text(self, name: str, value: str) -> str:
        """A text field's value with the peer's URLs in the form Plone stores them."""
        return self.links.stored(value) if name in self.stored_fields else self.links.html(value)


def schema_fields(obj):
    for schema in iterSchemata(obj):
        yield from getFieldsInOrder(schema)


def is_relation(field) -> bool:
    return (
        IRelation.providedBy(field)
        or IRelationList.providedBy(field)
        or (getattr(field, "value_type", None) is not None and IRelation.providedBy(field.value_type))
    )


def set_field(obj, field, value: Any) -> None:
    """Set one field through its data manager (the object is being written anyway: an equal
    value is not worth reading the old one first)."""
    manager = queryMultiAdapter((obj, field), IDataManager)
    if manager is not None:
        manager.set(value)


def blob_class(field) -> type:
    """The value class a file or image field stores."""
    if INamedBlobImageField.providedBy(field):
        return NamedBlobImage
    if INamedBlobFileField.providedBy(field):
        return NamedBlobFile
    return NamedImage if INamedImageField.providedBy(field) else NamedFile


def write_fields(obj, data: dict[str, Any], request, io: WriteIO) -> None:
    """Write every schema field present in ``data`` with its IFieldWriter."""
    for name, field in schema_fields(obj):
        if name not in data or name in SET_APART or field.readonly:
            continue
        writer = queryMultiAdapter((field, obj, request), IFieldWriter)
        if writer is not None:
            writer(data[name], io)


class FieldWriter:
    def __init__(self, field, context, request) -> None:
        self.field = field
        self.context = context
        self.request = request


@implementer(IFieldWriter)
@adapter(IField, Interface, Interface)
class DefaultFieldWriter(FieldWriter):
    """Through plone.restapi's deserializer for the field, as a PATCH would; relations of
    fields that are not relation fields themselves (a list of relations) wait too."""

    def __call__(self, value: Any, io: WriteIO) -> None:
        if is_relation(self.field):
            RelationWriter(self.field, self.context, self.request)(value, io)
            return
        check_collection(self.field, value)
        deserializer = queryMultiAdapter((self.field, self.context, self.request), IFieldDeserializer)
        if deserializer is not None:
            try:
                value = deserializer(value)
            except RequiredMissing:
                # A required field the original has empty (made by a script, which no form
                # checked): the copy is the original, and an empty value grants nothing.
                if value not in EMPTY:
                    raise
            set_field(self.context, self.field, value)


def check_collection(field, value: Any) -> None:
    """ValueError unless a list field's value is a JSON list (of texts, for a list of texts):
    the deserializer would take a text as a list of one, or a vocabulary term's object as its token."""
    if value is None or not ICollection.providedBy(field):
        return
    if not isinstance(value, list):
        raise ValueError(f"The peer's {field.__name__} is not a list.")
    value_type = getattr(field, "value_type", None)
    is_text = ITextLine.providedBy(value_type) or IText.providedBy(value_type)
    if is_text and not all(isinstance(item, str) for item in value):
        raise ValueError(f"The peer's {field.__name__} is not a list of texts.")


@implementer(IFieldWriter)
class RelationWriter(FieldWriter):
    """Relations: their targets (peer UID, or URL where the peer serves none), set in the
    second pass once the targets are here."""

    def __call__(self, value: Any, io: WriteIO) -> None:
        items = value if isinstance(value, list) else [value] if value else []
        for item in items:
            if isinstance(item, dict) and not isinstance(item.get("UID") or item.get("@id"), str):
                raise ValueError(f"The peer's {self.field.__name__} names a target without a UID or address.")
        io.relations[self.field.__name__] = [
            item.get("UID") or item["@id"]
            for item in items
            if isinstance(item, dict) and isinstance(item.get("UID") or item.get("@id"), str)
        ]


@implementer(IFieldWriter)
@adapter(ITextLine, ILink, Interface)
class LinkUrlWriter(DefaultFieldWriter):
    """A Link's URL: ``${portal_url}/resolveuid/<UID>`` for an object of the peer in scope."""

    def __call__(self, value: Any, io: WriteIO) -> None:
        if self.field.__name__ == "remoteUrl" and isinstance(value, str):
            value = io.links.stored(value) if "remoteUrl" in io.stored_fields else io.links.link_url(value)
            scheme = urlsplit(value.strip()).scheme.lower()
            if scheme and scheme not in LINK_SCHEMES and not value.startswith(PORTAL_URL):
                raise ValueError(f"The Link's URL uses a scheme this site does not take: {scheme!r}")
        super().__call__(value, io)


@implementer(IFieldWriter)
@adapter(IRichText, Interface, Interface)
class RichTextWriter(FieldWriter):
    def __call__(self, value: Any, io: WriteIO) -> None:
        """As plone.restapi's deserializer checks it: the raw text is never declared safe HTML
        already (its output would skip the safe-HTML filter), and the field validates it.
        HTML that would run in a browser is stored filtered (active_html.py)."""
        if value:
            if not isinstance(value, dict) or not isinstance(value.get("data") or "", str):
                raise ValueError("The peer's rich text is not a text with a content type.")
            mime_type = value.get("content-type") or self.field.default_mime_type
            if not isinstance(mime_type, str):
                raise ValueError("The peer's rich text has a content type that is not a text.")
            if mime_type == "text/x-html-safe" and mime_type != self.field.default_mime_type:
                raise ValueError("The peer's rich text claims to be safe HTML already: not taken.")
            encoding = value.get("encoding") or "utf-8"
            try:
                codecs.lookup(encoding)
            except (LookupError, TypeError):
                raise ValueError(f"The peer's rich text has an unknown encoding: {encoding!r:.40}") from None
            if len(value.get("data") or "") > MAX_TEXT:
                raise ValueError(f"The peer's rich text is longer than {MAX_TEXT // 2**20} MiB characters: not taken.")
            raw = io.text(self.field.__name__, value.get("data") or "")
            if mime_type == "text/html" and is_active(raw):
                raw = safe_text(self.context, raw)
                io.filtered.append(self.field.__name__)
            value = RichTextValue(
                raw=raw,
                mimeType=mime_type,
                outputMimeType=self.field.output_mime_type,
                encoding=encoding,
            )
            self.field.validate(value)
        set_field(self.context, self.field, value or None)


@implementer(IFieldWriter)
@adapter(INamedField, Interface, Interface)
class BlobWriter(FieldWriter):
    """Files and images from the downloaded temporary file; empty on the peer, empty here."""

    def __call__(self, value: Any, io: WriteIO) -> None:
        if not value:
            set_field(self.context, self.field, None)
            return
        path = io.blob_files.get(self.field.__name__)
        if path is None and self.field.__name__ in io.kept_blobs:
            self.keep(value, io.kept_blobs[self.field.__name__])
            return
        if not isinstance(value, dict) or path is None:
            raise ValueError(f"The peer's {self.field.__name__} is not a file with a download.")
        filename, content_type = value.get("filename"), value.get("content-type")
        if not isinstance(filename or "", str) or not isinstance(content_type or "", str):
            raise ValueError(f"The peer's {self.field.__name__} has a file name or content type that is no text.")
        if len(filename or "") > MAX_FILENAME or len(content_type or "") > MAX_FILENAME:
            raise ValueError(
                f"The peer's {self.field.__name__} has a file name or content type over {MAX_FILENAME} characters."
            )
        # The blob storage consumes (moves) the file it is given: hand it a link, so the
        # download stays for a redo of the same write.
        handed = f"{path}.{os.getpid()}.{id(self.context)}"
        try:
            os.link(path, handed)
        except OSError:
            shutil.copyfile(path, handed)
        with open(handed, "rb") as stream:
            blob = blob_class(self.field)(
                data=stream,
                # The name only: never a path (``../../etc/passwd``, ``C:\\x``) that a download would offer.
                filename=os.path.basename((filename or "").replace("\\", "/")) or os.path.basename(path),
                contentType=content_type or "application/octet-stream",
            )
        if os.path.exists(handed):  # not consumed (small data is copied into the blob)
            os.unlink(handed)
        set_field(self.context, self.field, blob)

    def keep(self, value: dict[str, Any], sha256: str) -> None:
        """The copy holds the peer's bytes already (not downloaded): only the name and type follow."""
        from senaite_style_sync.sync.fingerprint import blob_sha256  # fingerprint.py reads fields with this module

        current = getattr(aq_base(self.context), self.field.__name__, None)
        if current is None or blob_sha256(current) != sha256:
            raise ValueError("Its file here changed while it was read: the peer's is downloaded next time.")
        filename = value.get("filename") or current.filename
        content_type = value.get("content-type") or current.contentType
        if (current.filename, current.contentType) != (filename, content_type):
            current.filename = filename
            current.contentType = content_type
