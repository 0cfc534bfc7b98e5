"""HTTP sessions for one peer: TLS verification on, credentials sent only to the peer's own origin."""

from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase
from requests.auth import HTTPBasicAuth


DEFAULT_TIMEOUT = 30
USER_AGENT = "senaite_style_sync"


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of ``url``, with the scheme's default port filled in."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return parts.scheme, (parts.hostname or "").lower(), port


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

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
        return super().request(method, url, **kwargs)

    def rebuild_auth(self, prepared_request, response):
        # Called on redirects: drop credentials unless the redirect stays on the peer's origin.
        prepared_request.headers.pop("Authorization", None)
        if self.auth is not None:
            self.auth(prepared_request)
