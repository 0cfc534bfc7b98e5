"""HTTP for one peer: one session, one retry policy, one timeout, one mapping of answers to errors.

TLS is verified (against the Remote's CA file, if it names one); credentials go only to
the peer's own origin, also on redirects. Connection errors, timeouts and HTTP 5xx of a
GET are retried with exponential backoff by urllib3's ``Retry`` on the session's
adapter; what still fails is raised as PeerError for the caller to record.
"""

import os
import shutil
import tempfile
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.auth import HTTPBasicAuth
from urllib3.util.retry import Retry


# Seconds to wait for a connection or an answer; retries of a failing GET; the first
# pause before a retry (doubled each time).
TIMEOUT = 60
RETRIES = 3
BACKOFF = 0.5
RETRY_STATUSES = (500, 502, 503, 504)
DOWNLOAD_CHUNK = 1024 * 256
USER_AGENT = "senaite_style_sync"
# Reader threads share one session: one pooled connection each, and one for the writer.
POOL_SIZE = 8


class PeerError(Exception):
    """The peer did not give a usable answer, even after retries."""


class PeerAccessError(PeerError):
    """The peer refused access (HTTP 401 or 403)."""


class PeerNotFound(PeerError):
    """The peer has nothing at that URL (HTTP 404)."""


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

    def rebuild_auth(self, prepared_request, response):
        # Called on redirects: drop credentials unless the redirect stays on the peer's origin.
        prepared_request.headers.pop("Authorization", None)
        if self.auth is not None:
            self.auth(prepared_request)


def check_status(response: requests.Response, url: str) -> None:
    """Raise the PeerError that an HTTP error status means."""
    status = response.status_code
    if status in (401, 403):
        raise PeerAccessError(f"The peer refused access to {url} (HTTP {status}).")
    if status == 404:
        raise PeerNotFound(f"Not found on the peer: {url}")
    if status >= 400:
        raise PeerError(f"HTTP {status} from {url}")


class PeerHTTP:
    """All HTTP with one peer, counted in ``requests_made``."""

    def __init__(
        self,
        url: str,
        username: str = "",
        password: str = "",
        certificate_path: str = "",
        *,
        retries: int | None = None,
        backoff: float | None = None,
        timeout: float | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = TIMEOUT if timeout is None else timeout
        retry = Retry(
            total=RETRIES if retries is None else retries,
            backoff_factor=BACKOFF if backoff is None else backoff,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            raise_on_status=False,  # the last 5xx answer is returned, and check_status names it
        )
        # One session retries; the other asks once, for callers that split a failing
        # request themselves rather than repeat it.
        self.session = self._session(username, password, certificate_path, retry)
        self.single = self._session(username, password, certificate_path, Retry(0, read=False))
        self.requests_made = 0
        self._count_lock = threading.Lock()

    def _session(self, username: str, password: str, certificate_path: str, retry: Retry) -> PeerSession:
        session = PeerSession(self.url, username, password, certificate_path)
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=POOL_SIZE)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def request(self, method: str, url: str, *, retry: bool = True, **kwargs) -> requests.Response:
        """One request (with the retry policy unless ``retry`` is false); PeerError if none answered."""
        with self._count_lock:
            self.requests_made += 1
        session = self.session if retry else self.single
        try:
            return session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            raise PeerError(f"{method} {url} failed: {error}") from error

    def get_json(self, url: str, params: Any = None, *, retry: bool = True) -> Any:
        """The JSON the peer answers to a GET; PeerError for an error status or a body that is no JSON."""
        response = self.request("GET", url, params=params, retry=retry)
        check_status(response, url)
        try:
            return response.json()
        except ValueError as error:
            raise PeerError(f"The peer answered {url} with something that is not JSON.") from error

    def get_object(self, url: str, params: Any = None) -> dict[str, Any]:
        """Like get_json, for answers that must be a JSON object."""
        data = self.get_json(url, params)
        if not isinstance(data, dict):
            raise PeerError(f"The peer answered {url} with unexpected JSON.")
        return data

    def download(self, url: str) -> str:
        """Stream ``url`` into a new temporary file and return its path; the caller owns the file.

        Credentials go only to the peer's own origin: a blob URL elsewhere is refused.
        """
        if origin(url) != origin(self.url):
            raise PeerError(f"Refusing to download {url}: it is not on the peer's origin.")
        response = self.request("GET", url, stream=True)
        if response.status_code != 200:
            raise PeerError(f"Download of {url} answered HTTP {response.status_code}.")
        response.raw.decode_content = True
        with tempfile.NamedTemporaryFile(prefix="sync-blob-", delete=False) as stream:
            try:
                with response:
                    shutil.copyfileobj(response.raw, stream, DOWNLOAD_CHUNK)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
                os.unlink(stream.name)
                raise PeerError(f"Download of {url} broke off: {error}") from error
        return stream.name
