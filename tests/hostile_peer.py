"""A real HTTP server that plays a Plone 6 peer: a good one, or a compromised/faulty one.

It answers what the sync client (``senaite_style_sync.peer`` -- ``PeerHTTP``, ``StockReader``,
``AddonReader`` -- and ``senaite_style_sync.importers``) asks of a peer, in plone.restapi's
shapes: the site, ``@search`` (keyset listing in UID order, offset pages by position, default
pages, UID lookups, ``fullobjects``), and, as a peer with the add-on installed, ``@sync-list``
(the add-on's keyset listing: each item with its ``position`` in its folder and a ``meta``
digest) and ``@sync-read`` (probe and reads: objects with review history, ``@sharing`` and
``@stored-fields``, the names of the fields served as stored -- rich text with its
``resolveuid`` links, a Link's raw URL); ``@sharing``, blob downloads, ``@registry``,
``@users``, ``@groups``. An in-memory model (``PeerModel``) holds the good peer's content;
one crafted case of ``tests.hostile_cases`` (``CASES``) at a time changes that model and/or
the answers::

    with HostilePeer() as peer:                       # peer.url == "http://127.0.0.1:<port>/Plone"
        peer.locals = Locals(uids=(local_uid,))       # what the destination already has
        peer.case = "sync-list-endless"               # None: the good peer
        ...                                           # point the sync client at peer.url
        peer.requests                                 # every request, with Authorization presence

Besides the peer's own origin there are two other places cases point to:

* ``peer.alias_origin`` (``http://localhost:<port>``): the same server under another host
  name, i.e. another origin. Requests that arrive there are recorded with ``origin ==
  "alias"``; credentials must never arrive there.
* ``peer.canary_origin``: a second server (another port) that answers 200 to everything
  and records what reaches it (``peer.canary_requests``): any request there is a request
  the client should not have made.

Huge, endless and slow bodies are lazy (``Body``/``Lazy``): the server never holds them.
Hanging answers last ``hang_seconds`` at most (default 120) and end at once on ``stop()``.

The public pieces: ``HostilePeer`` (the server), ``PeerModel`` (the good peer; ``default()``
builds the small site every case starts from), ``Locals`` (what the destination has: its
UIDs, a local admin id), ``Case`` (name, category, endpoint, ``expect`` -- a key of
``EXPECTATIONS`` --, ``behaviour`` -- a key of ``BEHAVIOURS`` --, description), ``CASES``
and ``cases_by_category()`` (from tests.hostile_cases), ``Recorded`` (one request), and
``HostilePeer.sample_for(case)``: a request like the client's that shows the case.
"""

from __future__ import annotations

import base64
import copy
import enum
import functools
import gzip
import hashlib
import json
import math
import re
import socket
import struct
import sys
import threading
import time
import traceback
import zlib
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any
from typing import Self
from urllib.parse import parse_qsl
from urllib.parse import quote
from urllib.parse import unquote
from urllib.parse import urlencode
from urllib.parse import urlsplit


KB = 1024
MB = 1024 * KB
GB = 1024 * MB
CHUNK = 64 * KB
SITE_ID = "Plone"
CREATED = "2024-01-15T09:00:00+00:00"
MODIFIED = "2024-02-01T10:30:00+00:00"
LINK_LOCAL = "http://169.254.169.254"
HANG = math.inf  # a delay or pause "as long as the peer's hang_seconds" (interrupted by stop())

# Every endpoint the client uses, as ``classify`` names requests.
ENDPOINTS = (
    "site",  # GET <site>
    "listing",  # @search keyset pages in UID order (listing, not default pages)
    "sync_list",  # @sync-list keyset pages in UID order, with position and meta (a peer with the add-on)
    "positions",  # @search offset pages sorted on getObjPositionInParent
    "default_pages",  # @search?is_default_page=true keyset pages
    "lookup",  # @search?UID=..&UID=.. (which listed-before objects still exist)
    "fullobjects",  # @search?fullobjects=1&expand=workflow&UID=..
    "probe",  # @sync-read without UIDs
    "sync_read",  # @sync-read?UID=..
    "object",  # GET <object>
    "sharing",  # GET <object>/@sharing
    "download",  # GET <object>/@@download/<field> or @@images/<field>-...
    "registry",  # @registry?b_start&b_size[&q]
    "registry_record",  # @registry/<name>
    "users",  # @users
    "groups",  # @groups
    "group",  # @groups/<id>
)

# Hints for the harness: what a safe client does with a case (``Case.expect``).
EXPECTATIONS = {
    "ok": "tolerable: the sync ends as with the good peer (the oddity is harmless or handled)",
    "error": "the job ends and lists at least one error; nothing is written from the bad answer, nothing deleted",
    "warning": "the job ends and lists at least one warning (e.g. an object gone from the peer)",
    "skip": "the affected object/record/principal is not written (an error names it); the rest syncs",
    "timeout": "the client gives up after its own timeout and records an error; the job ends",
    "no-delete": "no synced copy is deleted because of the answer (the listing must count as failed)",
    "no-overwrite": "no local object outside the synced set is changed, moved or deleted",
    "no-escalation": "no principal gains a role, membership, local role or ownership beyond the allowed set; "
    "no local principal's e-mail, login or password changes",
    "no-leak": "no request goes to another origin (alias, canary, link-local) and no credentials leave the origin",
    "sanitized": "written, but the dangerous part (script URL, markup) does not survive into what this site stores "
    "or renders",
}

# What a request for the case's endpoint does on the wire (``Case.behaviour``).
BEHAVIOURS = {
    "answers": "a complete answer arrives promptly",
    "hangs": "no complete answer within a client's read timeout (silence before or inside the body)",
    "streams": "the status arrives promptly, the body is endless or far bigger than anyone should read",
    "breaks": "the answer arrives promptly but is broken on the HTTP level (the body ends before its announced "
    "length, headers no client accepts): the client errors out",
}

SHAREABLE_ROLES = {"Contributor": "Can add", "Editor": "Can edit", "Reader": "Can view", "Reviewer": "Can review"}
TYPE_TITLES = {
    "Plone Site": "Plone Site",
    "Document": "Page",
    "Folder": "Folder",
    "File": "File",
    "Image": "Image",
    "Link": "Link",
    "News Item": "News Item",
    "Event": "Event",
    "Collection": "Collection",
}
DEFAULT_LAYOUTS = {
    "Plone Site": "document_view",
    "Document": "document_view",
    "Folder": "listing_view",
    "File": "file_view",
    "Image": "image_view",
    "Link": "link_redirect_view",
    "News Item": "newsitem_view",
}
FOLDERISH = frozenset({"Folder", "Plone Site", "Collection"})
STATE_TITLES = {"private": "Private", "published": "Published", "pending": "Pending review"}
COMPONENTS = ("actions", "aliases", "breadcrumbs", "contextnavigation", "navigation", "navroot", "types", "workflow")
# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def uid(number: int) -> str:
    """A 32-hex-digit UID (as plone.uuid makes them) that sorts by ``number``."""
    return f"{number:08x}" + "0c1a55ee" * 3


SITE_UID = uid(0)
FAKE_LOCAL_UID = "beefcafe" * 4  # stands in for a local UID when a test supplies none


class Missing(enum.Enum):
    """Marks a key an override removes (an enum: survives deepcopy as itself)."""

    KEY = "missing"


MISSING = Missing.KEY


# -- answers ---------------------------------------------------------------------------------


@dataclass
class Body:
    """A lazy body: ``chunks()`` makes it while it is sent, never whole.

    A chunk may be a float instead of bytes: a pause of that many seconds (``HANG``: as
    long as the peer's ``hang_seconds``), cut short by the peer's shutdown.
    """

    chunks: Callable[[], Iterator[bytes | float]]
    length: int | None = None  # the Content-Length sent (may lie); None: close-delimited
    chunked: bool = False  # Transfer-Encoding: chunked (length is then not sent)


@dataclass
class Answer:
    """One HTTP answer: status, headers, a body (bytes or lazy ``Body``)."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | Body = b""
    delay: float = 0.0  # silence before the status line (``HANG``: as long as hang_seconds)
    close: bool = False  # close the connection after the body

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


@dataclass(frozen=True)
class Lazy:
    """A JSON fragment that is streamed, not held: put it anywhere in JSON data (see ``encode_json``)."""

    length: int | None
    chunks: Callable[[], Iterator[bytes | float]]

    def __deepcopy__(self, memo: dict) -> Lazy:
        return self


_PLACEHOLDER = re.compile(r'"\\u0000lazy(\d+)\\u0000"')


def encode_json(data: Any) -> bytes | Body:
    """JSON bytes of ``data``; a lazy ``Body`` when it holds ``Lazy`` fragments (NaN stays NaN)."""
    fragments: list[Lazy] = []

    def default(value: Any) -> str:
        if isinstance(value, Lazy):
            fragments.append(value)
            return f"\x00lazy{len(fragments) - 1}\x00"
        raise TypeError(f"{type(value).__name__} is not JSON")

    text = json.dumps(data, default=default)
    if not fragments:
        return text.encode()
    pieces: list[bytes | Lazy] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        pieces.append(text[position : match.start()].encode())
        pieces.append(fragments[int(match.group(1))])
        position = match.end()
    pieces.append(text[position:].encode())
    lengths = [len(p) if isinstance(p, bytes) else p.length for p in pieces]
    length = None if None in lengths else sum(lengths)  # type: ignore[arg-type]

    def chunks() -> Iterator[bytes | float]:
        for piece in pieces:
            if isinstance(piece, bytes):
                yield piece
            else:
                yield from piece.chunks()

    return Body(chunks, length)


def json_answer(data: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Answer:
    return Answer(status, [("Content-Type", "application/json"), *headers], encode_json(data))


def raw_answer(body: bytes | Body, status: int = 200, content_type: str = "application/json", **kwargs: Any) -> Answer:
    return Answer(status, [("Content-Type", content_type)], body, **kwargs)


def error_answer(status: int, kind: str, message: str) -> Answer:
    """An error as plone.restapi answers it."""
    return json_answer({"message": message, "type": kind}, status)


def redirect(location: str, status: int = 302) -> Answer:
    return Answer(status, [("Location", location), ("Content-Type", "text/html")], b"<html>moved</html>")


def hang(seconds: float = HANG) -> Answer:
    """Say nothing at all (not even a status line) for ``seconds``."""
    return Answer(delay=seconds, body=b"{}", headers=[("Content-Type", "application/json")])


# -- lazy fragments and bodies ---------------------------------------------------------------


def repeat(fill: bytes, size: int) -> Iterator[bytes]:
    """``size`` bytes of ``fill`` (one byte) in reused chunks."""
    block = fill * CHUNK
    for _ in range(size // CHUNK):
        yield block
    if size % CHUNK:
        yield fill * (size % CHUNK)


def endless(fill: bytes = b"\0") -> Iterator[bytes]:
    block = fill * CHUNK
    while True:
        yield block


def huge_string(size: int, fill: bytes = b"A") -> Lazy:
    """A JSON string of ``size`` characters."""
    return Lazy(size + 2, lambda: iter_chain([b'"'], repeat(fill, size), [b'"']))


def raw_json(text: bytes) -> Lazy:
    """Literal JSON text (e.g. duplicate keys, NaN) dropped in as it is."""
    return Lazy(len(text), lambda: iter([text]))


def deep_array(levels: int) -> Lazy:
    return raw_json(b"[" * levels + b"]" * levels)


def deep_object(levels: int) -> Lazy:
    return raw_json(b'{"a":' * levels + b"null" + b"}" * levels)


def padded(value: Any, spaces: int) -> Lazy:
    """``value`` preceded by ``spaces`` spaces of JSON whitespace."""
    text = json.dumps(value).encode()
    return Lazy(spaces + len(text), lambda: iter_chain(repeat(b" ", spaces), [text]))


def lazy_array(count: int | None, make: Callable[[int], Any]) -> Lazy:
    """A JSON array of ``count`` items (None: endless), item ``i`` being ``make(i)``."""

    def chunks() -> Iterator[bytes | float]:
        yield b"["
        index = 0
        while count is None or index < count:
            encoded = encode_json(make(index))
            if index:
                yield b","
            if isinstance(encoded, bytes):
                yield encoded
            else:
                yield from encoded.chunks()
            index += 1
        yield b"]"

    return Lazy(None, chunks)


def iter_chain(*parts: Iterable[bytes | float]) -> Iterator[bytes | float]:
    for part in parts:
        yield from part


def drip(prefix: bytes = b"", piece: bytes = b" ", every: float = 0.5) -> Body:
    """``prefix``, then one ``piece`` every ``every`` seconds, forever (each read returns in time)."""

    def chunks() -> Iterator[bytes | float]:
        yield prefix
        while True:
            yield every
            yield piece

    return Body(chunks)


def stall(prefix: bytes, length: int) -> Body:
    """Announce ``length`` bytes, send ``prefix``, then fall silent."""
    return Body(lambda: iter([prefix, HANG]), length)


def truncated(data: bytes, sent: int) -> Body:
    """Announce all of ``data``, send its first ``sent`` bytes, then close."""
    return Body(lambda: iter([data[:sent]]), len(data))


@functools.cache
def _gzip_member(fill: bytes, size: int) -> bytes:
    return gzip.compress(fill * size, compresslevel=9, mtime=0)


BOMB_MEMBER = 16 * MB


def gzip_bomb(total: int = 10 * GB, fill: bytes = b"\0", prefix: bytes = b"", suffix: bytes = b"") -> Body:
    """A gzip stream of ``prefix``, ``total`` bytes of ``fill``, ``suffix``: concatenated gzip
    members (one cached 16 MiB member repeated), about ``total`` / 1000 bytes on the wire."""
    member = _gzip_member(fill, BOMB_MEMBER)
    count = max(total // BOMB_MEMBER, 1)
    head = gzip.compress(prefix, mtime=0) if prefix else b""
    tail = gzip.compress(suffix, mtime=0) if suffix else b""

    def chunks() -> Iterator[bytes | float]:
        yield head
        for _ in range(count):
            yield member
        yield tail

    return Body(chunks, len(head) + count * len(member) + len(tail))


@functools.cache
def _deflate_parts(block_size: int) -> tuple[bytes, bytes]:
    """(zlib header, one full-flushed deflate block of ``block_size`` zeros)."""
    compressor = zlib.compressobj(9)
    first = compressor.compress(bytes(block_size)) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(block_size)) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert first[2:] == block  # after a full flush, the same input compresses the same
    return first[:2], block


def deflate_bomb(total: int = 10 * GB, block_size: int = 16 * MB) -> Body:
    """A zlib ("Content-Encoding: deflate") stream of ``total`` zeros, correct to the checksum."""
    header, block = _deflate_parts(block_size)
    count = max(total // block_size, 1)
    adler = (((count * block_size) % 65521) << 16) | 1  # Adler-32 of zeros: a stays 1, b counts bytes
    trailer = b"\x03\x00" + struct.pack(">I", adler)  # an empty final fixed block, then the checksum

    def chunks() -> Iterator[bytes | float]:
        yield header
        for _ in range(count):
            yield block
        yield trailer

    return Body(chunks, len(header) + count * len(block) + len(trailer))


def gzip_of(body: Body) -> Body:
    """``body`` gzipped once more, lazily (for "Content-Encoding: gzip, gzip")."""

    def chunks() -> Iterator[bytes | float]:
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        for chunk in body.chunks():
            if isinstance(chunk, bytes):
                out = compressor.compress(chunk)
                if out:
                    yield out
            else:
                yield chunk
        yield compressor.flush()

    return Body(chunks)


# -- the good peer's model -----------------------------------------------------------------


@dataclass
class BlobData:
    data: bytes
    filename: str
    content_type: str
    width: int | None = None  # images
    height: int | None = None


@dataclass
class Content:
    """One catalogued object of the peer (the site root is one too, with path "")."""

    uid: str
    path: str  # below the site, "/"-separated
    portal_type: str
    title: str
    review_state: str | None = "published"
    position: int = 0  # getObjPositionInParent
    created: str = CREATED
    modified: str = MODIFIED
    description: str = ""
    creators: list[str] = field(default_factory=lambda: ["editor1"])
    subjects: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)  # schema values as serialized (text, remoteUrl...)
    # Fields as stored, served instead by @sync-read (and named in its "@stored-fields"): rich text
    # with its resolveuid links, a Link's raw URL. Other endpoints serve ``fields`` (rendered).
    stored: dict[str, Any] = field(default_factory=dict)
    blobs: dict[str, BlobData] = field(default_factory=dict)
    related: list[str] = field(default_factory=list)  # relatedItems: paths of targets
    history: list[dict[str, Any]] | None = None  # None: made from review_state
    local_roles: dict[str, list[str]] = field(default_factory=dict)
    inherit: bool = True
    default_page: bool = False  # is_default_page
    layout: str | None = None
    listed: bool = True  # False: keyset listings (@search, @sync-list) leave it out; UID lookups and reads find it
    # Keys replaced in what the peer serves (MISSING removes; a tuple key is a path into nested dicts):
    summary_overrides: dict[Any, Any] = field(default_factory=dict)  # catalog summaries (@search, @sync-list items)
    list_overrides: dict[Any, Any] = field(default_factory=dict)  # @sync-list items only (after summary_overrides)
    json_overrides: dict[Any, Any] = field(default_factory=dict)  # full JSON (@sync-read, fullobjects, GET)
    sharing_overrides: dict[Any, Any] = field(default_factory=dict)  # @sharing and @sync-read's "@sharing"

    @property
    def id(self) -> str:
        return self.path.rpartition("/")[2] if self.path else SITE_ID

    @property
    def parent_path(self) -> str:
        return self.path.rpartition("/")[0]

    @property
    def folderish(self) -> bool:
        return self.portal_type in FOLDERISH


@dataclass
class Record:
    """A registry record: its value and the JSON schema type plone.restapi reports."""

    value: Any
    type: str = "string"
    title: str = ""
    factory: str = "Text line (String)"


@dataclass
class User:
    id: str
    roles: list[str] = field(default_factory=lambda: ["Member"])  # global, incl. through groups
    fullname: str = ""
    email: str = ""
    username: str | None = None  # None: the id
    overrides: dict[Any, Any] = field(default_factory=dict)


@dataclass
class Group:
    id: str
    title: str = ""
    description: str = ""
    roles: list[str] = field(default_factory=lambda: ["Authenticated"])
    members: list[str] = field(default_factory=list)
    overrides: dict[Any, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Locals:
    """What the destination site already has, for cases that aim at it (identity, principals)."""

    uids: tuple[str, ...] = ()  # UIDs of local objects (the test reads them from its site)
    types: tuple[tuple[str, str], ...] = ()  # (uid, portal_type) where not "Document"
    admin_id: str = "test_user_1_"  # a local Manager's user id (plone.app.testing's TEST_USER_ID)
    user_id: str = "test_user_1_"  # a local user id that a peer group/user may claim

    def uid(self, index: int = 0) -> str:
        return self.uids[index] if index < len(self.uids) else FAKE_LOCAL_UID

    def type_of(self, uid_: str) -> str:
        return dict(self.types).get(uid_, "Document")


def fill(value: Any, placeholders: dict[str, str]) -> Any:
    """``value`` with "{base}", "{origin}", "{alias}", "{canary}" in its strings replaced."""
    if isinstance(value, str):
        for key, replacement in placeholders.items():
            value = value.replace("{" + key + "}", replacement)
        return value
    if isinstance(value, list):
        return [fill(item, placeholders) for item in value]
    if isinstance(value, dict):
        return {fill(key, placeholders): fill(item, placeholders) for key, item in value.items()}
    return value


def apply_overrides(
    data: dict[str, Any], overrides: dict[Any, Any], placeholders: dict[str, str] | None = None
) -> dict[str, Any]:
    """Replace keys (a tuple key walks into nested dicts, made on the way); MISSING removes.

    Strings in the new values get their placeholders filled (see ``fill``).
    """
    for key, value in overrides.items():
        path = key if isinstance(key, tuple) else (key,)
        target: Any = data
        for part in path[:-1]:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        if value is MISSING:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = fill(copy.deepcopy(value), placeholders or {})
    return data


class NotFound(Exception):
    pass


def _params(query: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in query if key == name]


def _param(query: list[tuple[str, str]], name: str, default: str | None = None) -> str | None:
    values = _params(query, name)
    return values[0] if values else default


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def batching_links(actual_url: str, query: list[tuple[str, str]], b_start: int, b_size: int, total: int) -> dict | None:
    """plone.restapi's HypermediaBatch.links (None when everything fits one batch)."""
    if total <= b_size or b_size <= 0:
        return None

    def url(start: int) -> str:
        rest = [(key, value) for key, value in query if key != "b_start"]
        return f"{actual_url}?{urlencode([('b_start', str(start))] + rest)}"

    last_page = math.ceil(total / b_size)
    links = {
        "@id": f"{actual_url}?{urlencode(query)}" if query else actual_url,
        "first": url(0),
        "last": url((last_page - 1) * b_size),
    }
    if b_start + b_size < total:
        links["next"] = url(b_start + b_size)
    if b_start > 0:
        links["prev"] = url(max(0, b_start - b_size))
    return links


def canonical_url(actual_url: str, query: list[tuple[str, str]]) -> str:
    rest = [(k, v) for k, v in query if k not in ("b_size", "b_start", "sort_on", "sort_order", "sort_limit")]
    return f"{actual_url}?{urlencode(rest)}" if rest else actual_url


@dataclass
class PeerModel:
    """The good peer: content, registry, users and groups, served in plone.restapi's shapes."""

    site: Content
    contents: dict[str, Content]  # uid -> object (not the site)
    registry: dict[str, Record]
    users: list[User]
    groups: list[Group]
    serves_sync_read: bool = True
    site_overrides: dict[Any, Any] = field(default_factory=dict)  # GET <site>
    # Filled into strings of overrides and fields: base (the site URL), origin, alias, canary.
    placeholders: dict[str, str] = field(default_factory=dict)

    # -- building ----------------------------------------------------------------------

    @classmethod
    def default(cls, extra_documents: int = 0) -> PeerModel:
        """A small site: folders, pages with rich text and links, a file, an image, a link.

        ``extra_documents`` adds that many pages in a folder "docs" (for paging).
        """
        site = Content(SITE_UID, "", "Plone Site", "Peer site", review_state=None, creators=["admin"])
        blob = bytes((i * 7 + 3) % 256 for i in range(200 * KB))
        items = [
            Content(uid(1), "folder", "Folder", "A folder", position=0, local_roles={"editor1": ["Editor"]}),
            Content(
                uid(2),
                "folder/page",
                "Document",
                "A page",
                position=0,
                description="With links",
                subjects=["alpha"],
                fields={
                    "text": {
                        "content-type": "text/html",
                        "data": '<p>See <a href="{base}/folder/file">the file</a> and '
                        '<img src="{base}/image/@@images/image-1-0a1b2c.png" /></p>',
                        "encoding": "utf-8",
                    },
                    "changeNote": "",
                    "table_of_contents": None,
                },
                stored={
                    "text": {
                        "content-type": "text/html",
                        "data": f'<p>See <a href="resolveuid/{uid(3)}">the file</a> and '
                        f'<img src="resolveuid/{uid(6)}/@@images/image/thumb" /></p>',
                        "encoding": "utf-8",
                    }
                },
                related=["link"],
            ),
            Content(
                uid(3),
                "folder/file",
                "File",
                "A file",
                review_state=None,
                position=1,
                blobs={"file": BlobData(blob, "report.bin", "application/octet-stream")},
            ),
            Content(uid(4), "folder/sub", "Folder", "A subfolder", position=2, inherit=False),
            Content(
                uid(5),
                "folder/sub/index",
                "Document",
                "Front of sub",
                position=0,
                default_page=True,
                fields={"text": {"content-type": "text/html", "data": "<p>Index</p>", "encoding": "utf-8"}},
                stored={"text": {"content-type": "text/html", "data": "<p>Index</p>", "encoding": "utf-8"}},
            ),
            Content(
                uid(6),
                "image",
                "Image",
                "An image",
                review_state=None,
                position=1,
                blobs={"image": BlobData(PNG, "dot.png", "image/png", 1, 1)},
            ),
            Content(
                uid(7),
                "link",
                "Link",
                "A link",
                position=2,
                fields={"remoteUrl": "https://plone.org"},
                stored={"remoteUrl": "https://plone.org"},
            ),
            Content(uid(8), "about", "Document", "About", review_state="private", position=3, related=["folder/page"]),
        ]
        if extra_documents:
            items.append(Content(uid(100), "docs", "Folder", "Documents", position=4))
            for number in range(extra_documents):
                items.append(
                    Content(uid(101 + number), f"docs/doc-{number}", "Document", f"Document {number}", position=number)
                )
        registry = {
            "my.addon.greeting": Record("hello"),
            "plone.displayed_types": Record(
                ["Image", "File", "Link", "News Item", "Folder", "Document", "Event"],
                "array",
                "Displayed types",
                "Tuple",
            ),
            "plone.email_from_address": Record("site@example.org", title="Site 'From' address"),
            "plone.email_from_name": Record("Peer site", title="Site 'From' name"),
            "plone.enable_self_reg": Record(False, "boolean", "Enable self-registration", "Yes/No"),
            "plone.navigation_depth": Record(3, "integer", "Navigation depth", "Integer"),
            "plone.site_title": Record("Peer site", title="Site title"),
            "plone.smtp_host": Record("localhost", title="SMTP server"),
            "plone.webstats_js": Record("", "string", "JavaScript for web statistics support", "Text"),
        }
        users = [
            User("editor1", ["Member"], "Eddie Editor", "editor1@example.org"),
            User("reviewer1", ["Member", "Reviewer"], "Rita Reviewer", "reviewer1@example.org"),
        ]
        groups = [
            Group("Administrators", "Administrators", roles=["Manager", "Authenticated"]),
            Group("AuthenticatedUsers", "Authenticated Users (Virtual Group)", roles=[]),
            Group("Reviewers", "Reviewers", roles=["Reviewer", "Authenticated"], members=["reviewer1"]),
            Group("Site Administrators", "Site Administrators", roles=["Site Administrator", "Authenticated"]),
            Group("editors", "Editors", "People who edit", members=["editor1"]),
        ]
        return cls(site, {item.uid: item for item in items}, registry, users, groups)

    def copy(self) -> PeerModel:
        return copy.deepcopy(self)

    # -- lookups -----------------------------------------------------------------------

    def at(self, path: str) -> Content:
        if not path:
            return self.site
        for item in self.contents.values():
            if item.path == path:
                return item
        raise KeyError(path)

    def find(self, path: str) -> Content | None:
        try:
            return self.at(path)
        except KeyError:
            return None

    def add(self, item: Content) -> Content:
        self.contents[item.uid] = item
        return item

    def catalogued(self) -> list[Content]:
        return [self.site, *self.contents.values()]

    def user(self, user_id: str) -> User | None:
        return next((user for user in self.users if user.id == user_id), None)

    def group(self, group_id: str) -> Group | None:
        return next((group for group in self.groups if group.id == group_id), None)

    @staticmethod
    def url_of(item: Content, base: str) -> str:
        return f"{base}/{item.path}" if item.path else base

    # -- serializers ---------------------------------------------------------------------

    def summary(self, item: Content, base: str, metadata: Iterable[str] = ()) -> dict[str, Any]:
        """A catalog brain as plone.restapi's summary serializer gives it."""
        data: dict[str, Any] = {
            "@id": self.url_of(item, base),
            "@type": item.portal_type,
            "description": item.description,
            "review_state": item.review_state,
            "title": item.title,
            "type_title": TYPE_TITLES.get(item.portal_type, item.portal_type),
        }
        known = {
            "UID": item.uid,
            "modified": item.modified,
            "created": item.created,
            "portal_type": item.portal_type,
            "review_state": item.review_state,
            "getId": item.id,
            "is_folderish": item.folderish,
            "getObjPositionInParent": item.position,
        }
        for name in metadata:
            if name in known:
                data[name] = known[name]
        return apply_overrides(data, item.summary_overrides, self.placeholders)

    def history(self, item: Content) -> list[dict[str, Any]]:
        if item.history is not None:
            return copy.deepcopy(item.history)
        if item.review_state is None:
            return []
        entries = [
            {"action": None, "actor": "editor1", "comments": "", "review_state": "private", "time": item.created}
        ]
        if item.review_state != "private":
            action = {"published": "publish", "pending": "submit"}.get(item.review_state, "publish")
            entries.append(
                {
                    "action": action,
                    "actor": "editor1",
                    "comments": "",
                    "review_state": item.review_state,
                    "time": item.modified,
                }
            )
        for entry in entries:
            entry["title"] = STATE_TITLES.get(entry["review_state"], entry["review_state"])
        return entries

    def blob_json(self, item: Content, name: str, blob: BlobData, base: str) -> dict[str, Any]:
        url = self.url_of(item, base)
        data: dict[str, Any] = {"content-type": blob.content_type, "filename": blob.filename, "size": len(blob.data)}
        if blob.width is None:
            data["download"] = f"{url}/@@download/{name}"
            return data
        digest = hashlib.sha1(blob.data).hexdigest()[:12]
        extension = blob.filename.rpartition(".")[2] or "bin"
        data.update(
            {
                "download": f"{url}/@@images/{name}-{blob.width}-{digest}.{extension}",
                "height": blob.height,
                "width": blob.width,
                "scales": {
                    "thumb": {
                        "download": f"{url}/@@images/{name}-{blob.width}-{digest}.{extension}",
                        "height": blob.height,
                        "width": blob.width,
                    }
                },
            }
        )
        return data

    def full(
        self,
        item: Content,
        base: str,
        *,
        workflow: str | None = None,
        items: bool = False,
        sharing: bool = False,
        stored: bool = False,
    ) -> dict[str, Any]:
        """The object's JSON as plone.restapi serializes it (``include_items=False`` unless ``items``).

        ``workflow``: "expand" (as ``expand=workflow``), "history" (as @sync-read), None.
        ``sharing``: add "@sharing" as @sync-read does.
        ``stored``: the fields of ``Content.stored`` as stored, named in "@stored-fields" (as @sync-read).
        """
        url = self.url_of(item, base)
        parent = self.find(item.parent_path) if item.path else None
        data: dict[str, Any] = {
            "@components": {name: {"@id": f"{url}/@{name}"} for name in COMPONENTS},
            "@id": url,
            "@type": item.portal_type,
            "UID": item.uid,
            "allow_discussion": False,
            "contributors": [],
            "created": item.created,
            "creators": list(item.creators),
            "description": item.description,
            "effective": item.modified if item.review_state == "published" else None,
            "exclude_from_nav": False,
            "expires": None,
            "id": item.id,
            "is_folderish": item.folderish,
            "language": "",
            "layout": item.layout or DEFAULT_LAYOUTS.get(item.portal_type, "view"),
            "lock": {"locked": False, "stealable": True},
            "modified": item.modified,
            "next_item": {},
            "parent": self.summary(parent, base) if parent is not None else {},
            "previous_item": {},
            "relatedItems": [self.summary(target, base) for target in map(self.find, item.related) if target],
            "review_state": item.review_state,
            "rights": "",
            "subjects": list(item.subjects),
            "title": item.title,
            "type_title": TYPE_TITLES.get(item.portal_type, item.portal_type),
            "version": "current",
            "working_copy": None,
            "working_copy_of": None,
        }
        for name, value in item.fields.items():
            data[name] = fill(copy.deepcopy(value), self.placeholders | {"base": base})
        for name, blob in item.blobs.items():
            data[name] = self.blob_json(item, name, blob, base)
        if stored:
            for name, value in item.stored.items():
                data[name] = fill(copy.deepcopy(value), self.placeholders | {"base": base})
            data["@stored-fields"] = sorted(item.stored)
        if item.portal_type == "Plone Site":
            data["parent"] = {}
        if workflow == "expand":
            data["@components"]["workflow"] = {
                "@id": f"{url}/@workflow",
                "history": self.history(item),
                "state": {"id": item.review_state, "title": STATE_TITLES.get(item.review_state or "", "")}
                if item.review_state
                else {},
                "transitions": [],
            }
        elif workflow == "history":
            data["@components"]["workflow"] = {"@id": f"{url}/@workflow", "history": self.history(item)}
        if items and item.folderish:
            children = sorted(
                (child for child in self.contents.values() if child.parent_path == item.path and child is not item),
                key=lambda child: (child.position, child.uid),
            )
            data["items"] = [self.summary(child, base) for child in children]
            data["items_total"] = len(children)
        if sharing:
            data["@sharing"] = self.sharing(item, stock=False)
        return apply_overrides(data, item.json_overrides, self.placeholders)

    def sharing(self, item: Content, *, stock: bool) -> dict[str, Any]:
        """@sharing (``stock``) or the "@sharing" of @sync-read (only roles set here, marked true)."""
        if stock:
            principals = dict(item.local_roles)
            principals.setdefault("AuthenticatedUsers", [])
            entries = [
                {
                    "disabled": False,
                    "id": principal,
                    "login": None,
                    "roles": {role: role in roles for role in SHAREABLE_ROLES},
                    "title": principal,
                    "type": "group" if self.group(principal) else "user",
                }
                for principal, roles in sorted(principals.items())
            ]
            available = [{"id": role, "title": title} for role, title in sorted(SHAREABLE_ROLES.items())]
        else:
            entries = []
            for principal, roles in sorted(item.local_roles.items()):
                marked = {role: True for role in roles if role in SHAREABLE_ROLES}
                if marked:
                    entries.append({"id": principal, "roles": marked})
            available = [{"id": role} for role in sorted(SHAREABLE_ROLES)]
        data = {"inherit": item.inherit, "entries": entries, "available_roles": available}
        return apply_overrides(data, item.sharing_overrides, self.placeholders)

    def site_json(self, base: str) -> dict[str, Any]:
        data = self.full(self.site, base, items=True)
        data.update({"@id": base, "id": SITE_ID, "parent": {}, "is_folderish": True})
        return apply_overrides(data, self.site_overrides, self.placeholders)

    # -- @search -----------------------------------------------------------------------------

    def search(self, base: str, query: list[tuple[str, str]]) -> dict[str, Any]:
        rows = self.catalogued()
        if not _params(query, "UID"):
            rows = [row for row in rows if row.listed]  # lookups by UID find what listings leave out
        if _param(query, "UID.query") is not None:
            bound = _param(query, "UID.query") or ""
            kind = _param(query, "UID.range", "min")
            if kind == "min":
                rows = [row for row in rows if row.uid >= bound]
            elif kind == "max":
                rows = [row for row in rows if row.uid <= bound]
        elif _params(query, "UID"):
            wanted = set(_params(query, "UID"))
            rows = [row for row in rows if row.uid in wanted]
        if _param(query, "is_default_page") is not None:
            flag = (_param(query, "is_default_page") or "").lower() in ("true", "1", "on", "yes")
            rows = [row for row in rows if row.default_page == flag]
        keys = _params(query, "sort_on")
        if keys:

            def sort_key(row: Content) -> tuple:
                return tuple(
                    {
                        "UID": row.uid,
                        "getObjPositionInParent": row.position,
                        "modified": row.modified,
                        "sortable_title": row.title.lower(),
                        "path": row.path,
                    }.get(key, "")
                    for key in keys
                )

            rows = sorted(rows, key=sort_key)
            if _param(query, "sort_order") in ("reverse", "descending"):
                rows.reverse()
        b_start = max(_int(_param(query, "b_start"), 0), 0)
        b_size = _int(_param(query, "b_size"), 25)
        page = rows[b_start : b_start + b_size] if b_size > 0 else rows[b_start:]
        actual = f"{base}/@search"
        if "fullobjects" in dict(query):
            workflow = "expand" if "workflow" in ",".join(_params(query, "expand")).split(",") else None
            items = [self.full(row, base, workflow=workflow) if row.path else self.site_json(base) for row in page]
        else:
            metadata = _params(query, "metadata_fields")
            items = [self.summary(row, base, metadata) for row in page]
        result: dict[str, Any] = {"@id": canonical_url(actual, query), "items": items, "items_total": len(rows)}
        links = batching_links(actual, query, b_start, b_size, len(rows))
        if links:
            result["batching"] = links
        return result

    # -- @sync-list ----------------------------------------------------------------------------

    SYNC_LIST_MAX_PAGE = 1000  # senaite_style_sync.peer.wire.SYNC_LIST_MAX_PAGE

    def meta(self, item: Content) -> str:
        """A stable hex digest of what changes without re-dating the object (as the add-on's ``meta``):
        its local roles and their inheritance, its layout, whether it is a default page; what a case
        changes of its @sharing or layout changes it too."""
        state = {
            "local_roles": sorted((principal, sorted(roles)) for principal, roles in item.local_roles.items()),
            "inherit": item.inherit,
            "layout": item.layout or "",
            "default_page": item.default_page,
            "sharing": repr(sorted(item.sharing_overrides.items(), key=repr)),
            "json_layout": repr(item.json_overrides.get("layout")),
        }
        return hashlib.sha1(json.dumps(state, sort_keys=True).encode()).hexdigest()

    def sync_list_item(self, item: Content, base: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "@id": self.url_of(item, base),
            "UID": item.uid,
            "portal_type": item.portal_type,
            "modified": item.modified,
            "review_state": item.review_state or "",
            "position": item.position,
            "meta": self.meta(item),
        }
        apply_overrides(data, item.summary_overrides, self.placeholders)
        return apply_overrides(data, item.list_overrides, self.placeholders)

    def sync_list(self, base: str, query: list[tuple[str, str]]) -> dict[str, Any]:
        """@sync-list: keyset pages in UID order, ``b_size`` (at most 1000) items from ``UID.query``
        on (``UID.range=min``: the cursor itself included), as senaite_style_sync.server.sync_list."""
        rows = sorted((row for row in self.catalogued() if row.listed), key=lambda row: row.uid)
        bound = _param(query, "UID.query")
        if bound:
            if _param(query, "UID.range", "min") == "max":
                rows = [row for row in rows if row.uid <= bound]
            else:
                rows = [row for row in rows if row.uid >= bound]
        size = max(min(_int(_param(query, "b_size"), self.SYNC_LIST_MAX_PAGE), self.SYNC_LIST_MAX_PAGE), 1)
        return {"items": [self.sync_list_item(row, base) for row in rows[:size]], "items_total": len(rows)}

    # -- registry, users, groups -------------------------------------------------------------

    def registry_listing(self, base: str, query: list[tuple[str, str]]) -> dict[str, Any]:
        prefix = _param(query, "q") or ""
        names = [name for name in self.sorted_registry() if name.startswith(prefix)]
        b_start = max(_int(_param(query, "b_start"), 0), 0)
        b_size = _int(_param(query, "b_size"), 25)
        actual = f"{base}/@registry"
        result: dict[str, Any] = {"@id": canonical_url(actual, query), "items_total": len(names)}
        links = batching_links(actual, query, b_start, b_size, len(names))
        if links:
            result["batching"] = links
        result["items"] = [self.record_json(name) for name in names[b_start : b_start + b_size]]
        return result

    def sorted_registry(self) -> list[str]:
        """The registry's names in order (kept for the model's registry: cases with 100,000 records
        are paged through without sorting them again for every page)."""
        key = (id(self.registry), len(self.registry))  # a copied model has a registry of its own
        cached = self.__dict__.get("_sorted_registry")
        if cached is None or cached[0] != key:
            cached = self.__dict__["_sorted_registry"] = (key, sorted(self.registry))
        return cached[1]

    def record_json(self, name: str) -> dict[str, Any]:
        record = self.registry[name]
        properties = {"description": "", "factory": record.factory, "title": record.title or name, "type": record.type}
        if record.type == "array":
            properties["items"] = {"description": "", "factory": "Text line (String)", "title": "", "type": "string"}
        return {"name": name, "schema": {"properties": properties}, "value": copy.deepcopy(record.value)}

    def user_json(self, user: User, base: str) -> dict[str, Any]:
        groups = [{"id": "AuthenticatedUsers", "title": "AuthenticatedUsers"}] + [
            {"id": group.id, "title": group.title or group.id} for group in self.groups if user.id in group.members
        ]
        data = {
            "@id": f"{base}/@users/{user.id}",
            "description": None,
            "email": user.email or None,
            "fullname": user.fullname or None,
            "groups": {
                "@id": f"{base}/@users",
                "items": sorted(groups, key=lambda g: g["title"]),
                "items_total": len(groups),
            },
            "home_page": None,
            "id": user.id,
            "location": None,
            "portrait": None,
            "roles": sorted(set(user.roles) - {"Anonymous", "Authenticated"}),
            "username": user.username or user.id,
        }
        return apply_overrides(data, user.overrides, self.placeholders)

    def group_json(self, group: Group, base: str, query: list[tuple[str, str]], actual: str) -> dict[str, Any]:
        members = sorted(group.members)
        b_start = max(_int(_param(query, "b_start"), 0), 0)
        b_size = _int(_param(query, "b_size"), 25)
        member_data: dict[str, Any] = {
            "@id": canonical_url(actual, query),
            "items_total": len(members),
            "items": members[b_start : b_start + b_size],
        }
        links = batching_links(actual, query, b_start, b_size, len(members))
        if links:
            member_data["batching"] = links
        data = {
            "@id": f"{base}/@groups/{group.id}",
            "description": group.description,
            "email": None,
            "groupname": group.id,
            "id": group.id,
            "members": member_data,
            "roles": list(group.roles),
            "title": group.title,
        }
        return apply_overrides(data, group.overrides, self.placeholders)

    # -- answering ---------------------------------------------------------------------------

    def data(self, x: Exchange) -> Any:
        """The JSON the good peer answers for a JSON endpoint; NotFound for a 404."""
        base, query, endpoint = x.base, x.query, x.endpoint
        if endpoint == "site":
            return self.site_json(base)
        if endpoint in ("listing", "positions", "default_pages", "lookup", "fullobjects"):
            return self.search(base, query)
        if endpoint in ("probe", "sync_read"):
            if not self.serves_sync_read:
                raise NotFound(f"{base}/@sync-read")
            wanted = _params(query, "UID")
            return {
                "items": [
                    self.full(item, base, workflow="history", sharing=True, stored=True)
                    for item in self.contents.values()
                    if item.uid in wanted
                ]
            }
        if endpoint == "sync_list":
            if not self.serves_sync_read:
                raise NotFound(f"{base}/@sync-list")
            return self.sync_list(base, query)
        if endpoint in ("object", "sharing"):
            item = self.find(x.target)
            if item is None:
                raise NotFound(x.path)
            if endpoint == "sharing":
                return self.sharing(item, stock=True)
            return self.site_json(base) if not item.path else self.full(item, base, items=True)
        if endpoint == "registry":
            return self.registry_listing(base, query)
        if endpoint == "registry_record":
            if x.name not in self.registry:
                raise NotFound(x.name)
            return copy.deepcopy(self.registry[x.name].value)
        if endpoint == "users":
            items = [self.user_json(user, base) for user in self.users]
            return {"@id": f"{base}/@users", "items": items, "items_total": len(items)}
        if endpoint == "user":
            user = self.user(x.name)
            if user is None:
                raise NotFound(x.name)
            return self.user_json(user, base)
        if endpoint == "groups":
            return [self.group_json(group, base, [], f"{base}/@groups") for group in self.groups]
        if endpoint == "group":
            group = self.group(x.name)
            if group is None:
                raise NotFound(x.name)
            return self.group_json(group, base, query, f"{base}/@groups/{group.id}")
        if endpoint == "login":
            return {"token": "not-a-real-token"}
        raise NotFound(x.path)

    def blob_for(self, x: Exchange) -> tuple[Content, str, BlobData]:
        item = self.find(x.target)
        if item is None or x.name not in item.blobs:
            raise NotFound(x.path)
        return item, x.name, item.blobs[x.name]

    def answer(self, x: Exchange) -> Answer:
        try:
            if x.endpoint == "download":
                _item, _name, blob = self.blob_for(x)
                return Answer(
                    200,
                    [
                        ("Content-Type", blob.content_type),
                        ("Content-Disposition", f"attachment; filename*=UTF-8''{quote(blob.filename)}"),
                    ],
                    blob.data,
                )
            if x.endpoint == "login_form":
                return raw_answer(b"<html><body><form id='login'>Log in</form></body></html>", 200, "text/html")
            return json_answer(self.data(x))
        except NotFound as error:
            return error_answer(404, "NotFound", f"Resource not found: {error}")


# -- routing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    endpoint: str
    target: str = ""  # object path below the site (object, sharing, download)
    name: str = ""  # field (download), record name, user or group id


def classify(path: str, query: list[tuple[str, str]], site_id: str = SITE_ID) -> Route:
    """Which endpoint a request path (and query) is."""
    prefix = f"/{site_id}"
    if path != prefix and not path.startswith(prefix + "/"):
        return Route("outside", name=path)
    segments = [unquote(part) for part in path[len(prefix) :].split("/") if part]
    if not segments:
        return Route("site")
    head, rest = segments[0], segments[1:]
    names = {key for key, _value in query}
    if head == "@search":
        if "fullobjects" in names:
            return Route("fullobjects")
        if "is_default_page" in names:
            return Route("default_pages")
        if "getObjPositionInParent" in _params(query, "sort_on"):
            return Route("positions")
        if "UID" in names:
            return Route("lookup")
        return Route("listing")
    if head == "@sync-read":
        return Route("sync_read" if "UID" in names else "probe")
    if head == "@sync-list":
        return Route("sync_list")
    if head == "@registry":
        return Route("registry_record", name="/".join(rest)) if rest else Route("registry")
    if head == "@users":
        return Route("user", name="/".join(rest)) if rest else Route("users")
    if head == "@groups":
        return Route("group", name="/".join(rest)) if rest else Route("groups")
    if head == "@login":
        return Route("login")
    if head in ("login", "require_login", "login_form"):
        return Route("login_form")
    for index, segment in enumerate(segments):
        target = "/".join(segments[:index])
        if segment == "@sharing":
            return Route("sharing", target)
        if segment == "@@download" and index + 1 < len(segments):
            return Route("download", target, segments[index + 1])
        if segment == "@@images" and index + 1 < len(segments):
            return Route("download", target, re.split(r"[-/]", segments[index + 1])[0])
        if segment.startswith("@"):
            return Route("other", target, segment)
    return Route("object", "/".join(segments))


# -- cases -----------------------------------------------------------------------------------


@dataclass
class Exchange:
    """One request as a case sees it; ``good()`` is the good peer's answer to it."""

    peer: HostilePeer
    model: PeerModel
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    route: Route
    hit: int  # 1 for the first request to this endpoint since the case was set
    locals: Locals
    arrived: str = "peer"  # "peer", or "alias" when it came in under the alias host name

    @property
    def endpoint(self) -> str:
        return self.route.endpoint

    @property
    def target(self) -> str:
        return self.route.target

    @property
    def name(self) -> str:
        return self.route.name

    @property
    def base(self) -> str:
        return self.peer.url

    @property
    def origin(self) -> str:
        return self.peer.origin

    @property
    def url(self) -> str:
        """The full URL of this request (on the peer's own origin)."""
        return f"{self.origin}{self.path}" + (f"?{urlencode(self.query)}" if self.query else "")

    def param(self, name: str, default: str | None = None) -> str | None:
        return _param(self.query, name, default)

    def params(self, name: str) -> list[str]:
        return _params(self.query, name)

    def good(self) -> Answer:
        return self.model.answer(self)

    def good_data(self) -> Any:
        """The good JSON (fresh: change it freely); NotFound where the good peer answers 404."""
        return self.model.data(self)


@dataclass(frozen=True)
class Case:
    """One crafted hostile or faulty behaviour of the peer.

    ``prepare(model, locals)`` changes a fresh copy of the good model when the case is set
    (so every endpoint serves the change consistently); ``answer(exchange)`` replaces the
    answer to requests for ``endpoints`` (default: ``endpoint``), returning None to let the
    (prepared) model answer.
    """

    name: str
    category: str
    endpoint: str  # where the case shows: a request for it (see HostilePeer.sample_request) differs
    expect: str  # a key of EXPECTATIONS, for the harness
    description: str
    answer: Callable[[Exchange], Answer | None] | None = None
    prepare: Callable[[PeerModel, Locals], None] | None = None
    endpoints: frozenset[str] | None = None
    target: str = ""  # the object path / record name / group id the sample request names
    behaviour: str = "answers"  # a key of BEHAVIOURS: what the sample request sees on the wire
    serves_sync_read: bool | None = None  # False: a stock peer (@sync-read answers 404)
    query: tuple[tuple[str, str], ...] = ()  # sample-request parameters to set (e.g. a cursor: shows on page 2)

    def applies_to(self, endpoint: str) -> bool:
        return endpoint in (self.endpoints if self.endpoints is not None else {self.endpoint})


def __getattr__(name: str) -> Any:
    """``CASES`` and ``cases_by_category`` live in tests.hostile_cases (imported on first use)."""
    if name in ("CASES", "cases_by_category", "CATEGORIES"):
        from tests import hostile_cases

        return getattr(hostile_cases, name)
    raise AttributeError(name)


# -- the server ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """One request that reached the peer (or the canary)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]  # lower-case names
    authorization: bool  # an Authorization header was present
    endpoint: str
    origin: str  # "peer", "alias" (same server, other host name) or "canary"
    case: str | None
    time: float

    @property
    def url(self) -> str:
        return self.path + (f"?{urlencode(self.query)}" if self.query else "")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, peer: HostilePeer, canary: bool) -> None:
        self.peer = peer
        self.canary = canary
        self.handlers: list[threading.Thread] = []  # joined by stop(): no thread outlives the peer
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client that hangs up is no error
            super().handle_error(request, client_address)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address), daemon=True)
        self.handlers = [handler for handler in self.handlers if handler.is_alive()] + [thread]
        thread.start()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Zope/5"
    sys_version = ""
    timeout = 10  # a client that neither sends nor reads frees the thread after this
    server: _Server

    def setup(self) -> None:
        super().setup()
        # No Nagle: headers and body go out as separate writes, and a delayed ACK would cost 40 ms each.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.peer._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.server.peer._track(self.connection, False)

    def _any(self) -> None:
        try:
            self.server.peer._handle(self, self.server.canary)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True
        except OSError:
            self.close_connection = True

    do_GET = do_POST = do_HEAD = do_PUT = do_PATCH = do_DELETE = _any

    def log_message(self, format: str, *args: Any) -> None:
        pass


class HostilePeer:
    """A peer on 127.0.0.1 serving the good model with at most one ``Case`` applied."""

    def __init__(
        self,
        model: PeerModel | None = None,
        *,
        locals: Locals | None = None,
        credentials: tuple[str, str] | None = None,
        hang_seconds: float = 120.0,
        site_id: str = SITE_ID,
    ) -> None:
        self.good_model = model or PeerModel.default()
        self.locals = locals or Locals()
        self.credentials = credentials  # if set: requests without them answer 401
        self.hang_seconds = hang_seconds
        self.site_id = site_id
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._connections: set[socket.socket] = set()
        self._requests: list[Recorded] = []
        self._hits: dict[str, int] = {}
        self._case: Case | None = None
        self._model = self.good_model.copy()
        self._server: _Server | None = None
        self._canary: _Server | None = None
        self._threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> HostilePeer:
        self._stop.clear()
        self._server = _Server(self, canary=False)
        self._canary = _Server(self, canary=True)
        for server in (self._server, self._canary):
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                daemon=True,
                name=f"hostile-peer-{server.server_address[1]}",
            )
            thread.start()
            self._threads.append(thread)
        self.set_case(self._case)  # fill the placeholders with this run's addresses
        return self

    def stop(self) -> None:
        """Stop serving; hanging and streaming answers are cut off at once."""
        self._stop.set()
        for server in (self._server, self._canary):
            if server is not None:
                server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for server in (self._server, self._canary):
            if server is not None:
                server.server_close()
        deadline = time.monotonic() + 5
        for server in (self._server, self._canary):
            for thread in server.handlers if server is not None else ():
                thread.join(max(deadline - time.monotonic(), 0.01))
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.01))
        self._threads.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    # -- addresses --------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "start the peer first"
        return self._server.server_address[1]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The site's URL: what a remote is configured with."""
        return f"{self.origin}/{self.site_id}"

    @property
    def alias_origin(self) -> str:
        """This server under another host name: another origin (no credentials may go there)."""
        return f"http://localhost:{self.port}"

    @property
    def canary_origin(self) -> str:
        """A second server: nothing the client does should ever reach it."""
        assert self._canary is not None, "start the peer first"
        return f"http://127.0.0.1:{self._canary.server_address[1]}"

    # -- the case -------------------------------------------------------------------------------

    @property
    def case(self) -> Case | None:
        return self._case

    @case.setter
    def case(self, case: str | Case | None) -> None:
        self.set_case(case)

    def set_case(self, case: str | Case | None, locals: Locals | None = None) -> None:
        """Activate ``case`` (a name in CASES, a Case, or None for the good peer)."""
        if isinstance(case, str):
            from tests.hostile_cases import CASES

            case = CASES[case]
        if locals is not None:
            self.locals = locals
        model = self.good_model.copy()
        if self._server is not None:
            model.placeholders = {
                "base": self.url,
                "origin": self.origin,
                "alias": self.alias_origin,
                "canary": self.canary_origin,
                "link_local": LINK_LOCAL,
            }
        if case is not None:
            if case.serves_sync_read is not None:
                model.serves_sync_read = case.serves_sync_read
            if case.prepare is not None:
                case.prepare(model, self.locals)
        with self._lock:
            self._case = case
            self._model = model
            self._hits = {}

    @property
    def model(self) -> PeerModel:
        """The model being served (the good one with the active case's changes)."""
        return self._model

    # -- what arrived ------------------------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        """Requests to the peer (its own origin and the alias), oldest first."""
        with self._lock:
            return [r for r in self._requests if r.origin != "canary"]

    @property
    def canary_requests(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self._requests if r.origin == "canary"]

    def requests_to(self, endpoint: str) -> list[Recorded]:
        return [r for r in self.requests if r.endpoint == endpoint]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- a request for each endpoint ---------------------------------------------------------------

    def sample_request(self, endpoint: str, target: str = "") -> tuple[str, list[tuple[str, str]]]:
        """(url, params) of a request such as the client makes to ``endpoint`` (``target``: the
        object path, record name or group id it names)."""
        model = self._model
        listing = [("metadata_fields", name) for name in ("UID", "modified", "portal_type", "review_state")]
        item = (
            model.find(target)
            if endpoint in ("sync_read", "fullobjects", "lookup", "object", "sharing", "download") and target
            else None
        )
        if endpoint == "site":
            return self.url, []
        if endpoint == "listing":
            return f"{self.url}/@search", listing + [("sort_on", "UID"), ("b_size", "1000")]
        if endpoint == "sync_list":
            return f"{self.url}/@sync-list", [("sort_on", "UID"), ("b_size", "1000")]
        if endpoint == "positions":
            return f"{self.url}/@search", [
                ("sort_on", "getObjPositionInParent"),
                ("sort_on", "UID"),
                ("metadata_fields", "UID"),
                ("b_start", "0"),
                ("b_size", "1000"),
            ]
        if endpoint == "default_pages":
            return f"{self.url}/@search", [
                ("is_default_page", "true"),
                ("metadata_fields", "UID"),
                ("sort_on", "UID"),
                ("b_size", "1000"),
            ]
        uids = [item.uid] if item is not None else [model.at("folder/page").uid, model.at("folder/file").uid]
        if endpoint == "lookup":
            return f"{self.url}/@search", [("UID", u) for u in uids] + listing + [("b_size", str(len(uids)))]
        if endpoint == "probe":
            return f"{self.url}/@sync-read", []
        if endpoint == "sync_read":
            return f"{self.url}/@sync-read", [("UID", u) for u in uids]
        if endpoint == "fullobjects":
            return f"{self.url}/@search", [("fullobjects", "1"), ("expand", "workflow"), ("b_size", str(len(uids)))] + [
                ("UID", u) for u in uids
            ]
        if endpoint == "object":
            return f"{self.url}/{target or 'folder/page'}", []
        if endpoint == "sharing":
            return f"{self.url}/{target or 'folder/page'}/@sharing", []
        if endpoint == "download":
            holder = item or model.at("folder/file")
            name = next(iter(holder.blobs), "file")
            return f"{self.url}/{holder.path}/@@download/{name}", []
        if endpoint == "registry":
            return f"{self.url}/@registry", [("b_start", "0"), ("b_size", "200")]
        if endpoint == "registry_record":
            return f"{self.url}/@registry/{quote(target or 'plone.site_title', safe='')}", []
        if endpoint == "users":
            return f"{self.url}/@users", []
        if endpoint == "groups":
            return f"{self.url}/@groups", []
        if endpoint == "group":
            return f"{self.url}/@groups/{quote(target or 'Reviewers', safe='')}", [("b_size", "1000")]
        raise ValueError(endpoint)

    def sample_for(self, case: Case | None = None) -> tuple[str, list[tuple[str, str]]]:
        """(url, params) of a request that shows ``case`` (default: the active one) on the wire."""
        case = case or self._case
        assert case is not None
        url, params = self.sample_request(case.endpoint, case.target)
        replaced = {key for key, _value in case.query}
        return url, [(k, v) for k, v in params if k not in replaced] + list(case.query)

    # -- serving ------------------------------------------------------------------------------------

    def _handle(self, handler: _Handler, canary: bool) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(min(length, MB))
        parts = urlsplit(handler.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        headers = {key.lower(): value for key, value in handler.headers.items()}
        route = Route("canary") if canary else classify(parts.path, query, self.site_id)
        host = headers.get("host", "")
        origin = "canary" if canary else ("peer" if host.startswith("127.0.0.1") else "alias")
        with self._lock:
            case, model = self._case, self._model
            self._requests.append(
                Recorded(
                    handler.command,
                    parts.path,
                    tuple(query),
                    headers,
                    "authorization" in headers,
                    route.endpoint,
                    origin,
                    case.name if case else None,
                    time.time(),
                )
            )
            hit = self._hits[route.endpoint] = self._hits.get(route.endpoint, 0) + 1
        if canary:
            answer = json_answer({"canary": True, "path": parts.path})
        else:
            exchange = Exchange(
                self, model, handler.command, parts.path, query, headers, route, hit, self.locals, origin
            )
            answer = self._answer(exchange, case)
        self._send(handler, answer)

    def _answer(self, x: Exchange, case: Case | None) -> Answer:
        if self.credentials and x.endpoint != "login_form":
            expected = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
            if x.headers.get("authorization") != expected:
                return error_answer(401, "Unauthorized", "You are not authorized to access this resource.")
        if case is not None and case.answer is not None and case.applies_to(x.endpoint):
            try:
                answer = case.answer(x)
            except NotFound:
                answer = None  # what the case changes is not there: the good peer's 404
            except Exception as error:  # noqa: BLE001 -- a bug of the case: say so, do not drop the connection
                traceback.print_exc()
                return error_answer(500, "HostilePeerBug", f"case {case.name}: {type(error).__name__}: {error}")
            if answer is not None:
                return answer
        return x.good()

    def _pause(self, seconds: float) -> bool:
        """Wait (at most hang_seconds); False when the peer is stopping."""
        return not self._stop.wait(min(seconds, self.hang_seconds))

    def _send(self, handler: _Handler, answer: Answer) -> None:
        if answer.delay and not self._pause(answer.delay):
            handler.close_connection = True
            return
        handler.send_response(answer.status)
        headers = list(answer.headers)
        names = {name.lower() for name, _ in headers}
        body = answer.body
        close = answer.close
        if isinstance(body, bytes):
            if "content-length" not in names:
                headers.append(("Content-Length", str(len(body))))
        elif body.chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        elif body.length is not None:
            if "content-length" not in names:
                headers.append(("Content-Length", str(body.length)))
        else:
            close = True  # the end of the body is the end of the connection
        if close and "connection" not in names:
            headers.append(("Connection", "close"))
        for name, value in headers:
            handler.send_header(name, value)
        handler.end_headers()
        if close:
            handler.close_connection = True
        if handler.command == "HEAD":
            return
        if isinstance(body, bytes):
            handler.wfile.write(body)
            return
        finished = True
        sent = 0
        for chunk in body.chunks():
            if self._stop.is_set():
                finished = False
                break
            if isinstance(chunk, float):
                if not self._pause(chunk):
                    finished = False
                    break
                continue
            if not chunk:
                continue
            if body.chunked:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            else:
                handler.wfile.write(chunk)
            sent += len(chunk)
        if body.chunked and finished:
            handler.wfile.write(b"0\r\n\r\n")
        if not finished or (body.length is not None and sent < body.length):
            handler.close_connection = True  # cut short: the client must not wait for the rest
