"""A requests session for one peer: its CA bundle, its credentials on its own origin only,
and compressed answers inflated within a limit."""

import zlib
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase
from requests.auth import HTTPBasicAuth
from urllib3.util import parse_url

from senaite_style_sync.peer.errors import PeerError


USER_AGENT = "senaite_style_sync"


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of ``url``, with the scheme's default port filled in."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return parts.scheme, (parts.hostname or "").lower(), port


def wire_origin(url: Any) -> tuple[str, str, int] | None:
    """The origin a request for ``url`` would really go to, as urllib3 (under requests) parses
    it; None for anything but a plain http(s) URL: with credentials in it, backslashes,
    spaces or control characters, where parsers disagree about the host."""
    if not isinstance(url, str) or "\\" in url or any(ord(char) <= 32 or ord(char) == 127 for char in url):
        return None
    try:
        parts = parse_url(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.host or parts.auth:
        return None
    return parts.scheme, parts.host.lower().strip("[]"), parts.port or {"http": 80, "https": 443}[parts.scheme]


class Inflater:
    """Inflates a gzip or deflate body chunk by chunk, never to more than ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        if encoding not in ("gzip", "deflate", "x-gzip"):
            raise PeerError(f"The peer's answer is encoded as {encoding!r}, which is not accepted.")
        self.decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, found by zlib
        self.limit = limit

    def __call__(self, chunk: bytes) -> bytes:
        try:
            data = self.decoder.decompress(chunk, self.limit + 1)
        except zlib.error as error:
            raise PeerError(f"The peer's compressed answer is broken: {error}") from error
        if len(data) > self.limit or self.decoder.unconsumed_tail:
            raise PeerError(f"The peer's answer inflates to more than {self.limit} bytes.")
        self.limit -= len(data)
        return data


class OriginBoundAuth(AuthBase):
    """Basic auth added only to requests for the peer's own origin, never to any other host."""

    def __init__(self, peer_url: str, username: str, password: str) -> None:
        self.origin = origin(peer_url)
        self.basic = HTTPBasicAuth(username, password)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if origin(request.url) == self.origin:
            return self.basic(request)
        return request


class PeerSession(requests.Session):
    """A session for one peer site: its CA bundle if any, its credentials on its origin only."""

    def __init__(self, url: str, username: str = "", password: str = "", certificate_path: str = "") -> None:
        super().__init__()
        self.peer_url = url.rstrip("/")
        # Environment variables (REQUESTS_CA_BUNDLE, proxies, .netrc) must not loosen or
        # redirect what the remote's settings say.
        self.trust_env = False
        self.verify = certificate_path or True
        self.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        if username:
            self.auth = OriginBoundAuth(self.peer_url, username, password)

    def rebuild_auth(self, prepared_request, response):
        # Called on redirects: drop credentials unless the redirect stays on the peer's origin.
        prepared_request.headers.pop("Authorization", None)
        if self.auth is not None:
            self.auth(prepared_request)
