"""HTTP for one peer: one session, one retry policy, one timeout, one mapping of answers to errors.

TLS is verified (against the Remote's CA file, if it names one). Connection errors,
timeouts and HTTP 5xx of a GET are retried with exponential backoff by urllib3's ``Retry``
on the session's adapter; what still fails is raised as PeerError for the caller to record.

The peer is untrusted input: every request stays on the peer's own origin (a URL it
names elsewhere is refused, redirects are never followed), every answer is read within
a size limit and a deadline (compressed answers are inflated within the same limit), and
a download must have the size, and the sha256 where the peer states one, it was said to.
"""

import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from senaite_style_sync.config import product_config
from senaite_style_sync.peer.errors import BlobMismatch
from senaite_style_sync.peer.errors import PeerAnswerError
from senaite_style_sync.peer.errors import PeerError
from senaite_style_sync.peer.errors import PeerTimeout
from senaite_style_sync.peer.errors import check_status
from senaite_style_sync.peer.session import Inflater
from senaite_style_sync.peer.session import PeerSession
from senaite_style_sync.peer.session import wire_origin


# Seconds to wait for a connection or an answer; retries of a failing GET; the first
# pause before a retry (doubled each time).
TIMEOUT = 60
RETRIES = 3
BACKOFF = 0.5
RETRY_STATUSES = (500, 502, 503, 504)
DOWNLOAD_CHUNK = 1024 * 256
# The most a JSON answer may hold (inflated), and the slowest a body may arrive once its
# headers did: the whole body within TIMEOUT, plus a second per MIN_RATE bytes.
MAX_JSON_BYTES = 64 * 1024 * 1024
MIN_RATE = 64 * 1024
# The most a file may hold: product-config ``max-blob-size`` (bytes), else this.
MAX_BLOB_BYTES = 2 * 1024**3
# Reader threads share one session: one pooled connection each, and one for the writer.
POOL_SIZE = 8
# Redirects a download follows, each only to the peer's own origin (an image scale's URL).
DOWNLOAD_REDIRECTS = 3


def max_blob_bytes() -> int:
    try:
        return int(product_config().get("max-blob-size", MAX_BLOB_BYTES))
    except ValueError:
        return MAX_BLOB_BYTES


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
        self.origin = wire_origin(self.url)
        self.timeout = TIMEOUT if timeout is None else timeout
        retry = Retry(
            total=RETRIES if retries is None else retries,
            backoff_factor=BACKOFF if backoff is None else backoff,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            redirect=False,
            raise_on_status=False,  # the last 5xx answer is returned, and check_status names it
        )
        # One session retries; the other asks once, for callers that split a failing
        # request themselves rather than repeat it.
        self.session = self._session(username, password, certificate_path, retry)
        self.single = self._session(username, password, certificate_path, Retry(0, read=False, redirect=False))
        self.tmpdir: str | None = None  # where downloads go (the system's temporary directory)
        self.requests_made = 0
        self._count_lock = threading.Lock()

    def _session(self, username: str, password: str, certificate_path: str, retry: Retry) -> PeerSession:
        session = PeerSession(self.url, username, password, certificate_path)
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=POOL_SIZE)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def request(self, method: str, url: str, *, retry: bool = True, redirects: int = 0, **kwargs) -> requests.Response:
        """One request on the peer's origin (with the retry policy unless ``retry`` is false);
        its body is left to read (``body``, ``download``). PeerError if none answered, for a URL
        elsewhere, and for a redirect: a GET follows at most ``redirects`` of them, each only to
        a URL on the peer's origin (that is checked as the first URL was); others are refused."""
        if self.origin is None or wire_origin(url) != self.origin:
            raise PeerError(f"Refusing to request {url!r}: it is not on the peer's origin.")
        with self._count_lock:
            self.requests_made += 1
        session = self.session if retry else self.single
        try:
            response = session.request(method, url, timeout=self.timeout, stream=True, allow_redirects=False, **kwargs)
        except requests.Timeout as error:
            raise PeerTimeout(f"{method} {url} failed: {error}") from error
        except requests.RequestException as error:
            raise PeerError(f"{method} {url} failed: {error}") from error
        if response.is_redirect:
            response.close()
            location = response.headers.get("Location")
            target = urljoin(url, location) if isinstance(location, str) else ""
            if method == "GET" and redirects > 0 and target and wire_origin(target) == self.origin:
                kwargs.pop("params", None)  # the new URL is complete
                return self.request(method, target, retry=retry, redirects=redirects - 1, **kwargs)
            raise PeerError(f"The peer redirected {url} to {location!r}: not followed.")
        return response

    def chunks(self, response: requests.Response, url: str, limit: int) -> Iterator[bytes]:
        """The body of ``response``, inflated, in chunks as they arrive: within ``limit`` bytes
        and a deadline (the timeout, plus a second per MIN_RATE bytes arrived: a body that
        trickles in is given up after the timeout, however big it claims to be)."""
        encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
        inflate = Inflater(encoding, limit) if encoding != "identity" else None
        start = time.monotonic()
        received = arrived = 0
        try:
            with response:
                while chunk := response.raw.read1(DOWNLOAD_CHUNK, decode_content=False):
                    arrived += len(chunk)
                    data = inflate(chunk) if inflate is not None else chunk
                    received += len(data)
                    if received > limit:
                        raise PeerError(f"The peer's answer to {url} is bigger than {limit} bytes.")
                    if time.monotonic() > start + self.timeout + arrived / MIN_RATE:
                        raise PeerTimeout(f"The peer's answer to {url} arrives too slowly; given up.")
                    yield data
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
            raise PeerError(f"The peer's answer to {url} broke off: {error}") from error

    def get_json(self, url: str, params: Any = None, *, retry: bool = True) -> Any:
        """The JSON the peer answers to a GET; PeerError for an error status or a body that is no JSON."""
        return self.json_answer(self.request("GET", url, params=params, retry=retry), url)

    def json_answer(self, response: requests.Response, url: str) -> Any:
        try:
            check_status(response, url)
        except PeerError:
            response.close()
            raise
        body = b"".join(self.chunks(response, url, MAX_JSON_BYTES))
        try:
            return json.loads(body, parse_constant=reject_constant)
        except (ValueError, RecursionError) as error:
            raise PeerAnswerError(f"The peer answered {url} with something that is not JSON.") from error

    def post_json(self, url: str, body: Any) -> Any:
        """POST ``body`` as JSON (never retried); the JSON answer, as get_json reads it."""
        return self.json_answer(self.request("POST", url, json=body, retry=False), url)

    def upload(self, url: str, path: str) -> Any:
        """POST the file at ``path`` as the body (never retried); the JSON answer."""
        with open(path, "rb") as body:
            response = self.request("POST", url, data=body, headers={"Content-Type": "application/zip"}, retry=False)
        return self.json_answer(response, url)

    def get_object(self, url: str, params: Any = None) -> dict[str, Any]:
        """Like get_json, for answers that must be a JSON object."""
        data = self.get_json(url, params)
        if not isinstance(data, dict):
            raise PeerError(f"The peer answered {url} with unexpected JSON.")
        return data

    def download(self, url: str, size: int | None = None, sha256: str | None = None) -> str:
        """Stream ``url`` into a new temporary file and return its path; the caller owns the file.

        The file must have ``size`` bytes and the ``sha256`` where they are given (else at most
        the largest file accepted): a download that differs is tried once more, then refused,
        so a truncated or altered file is never stored.
        """
        try:
            return self._download(url, size, sha256)
        except BlobMismatch:
            return self._download(url, size, sha256)

    def _download(self, url: str, size: int | None, sha256: str | None) -> str:
        response = self.request("GET", url, redirects=DOWNLOAD_REDIRECTS, headers={"Accept-Encoding": "identity"})
        if response.status_code != 200:
            response.close()
            raise PeerError(f"Download of {url} answered HTTP {response.status_code}.")
        limit = size if size is not None else max_blob_bytes()
        digest = hashlib.sha256()
        received = 0
        with tempfile.NamedTemporaryFile(prefix="sync-blob-", dir=self.tmpdir, delete=False) as stream:
            try:
                for chunk in self.chunks(response, url, limit + 1 if size is not None else limit):
                    stream.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    if size is not None and received > size:
                        raise BlobMismatch(f"Download of {url} is bigger than the {size} bytes the peer stated.")
                if size is not None and received != size:
                    raise BlobMismatch(f"Download of {url} has {received} of the {size} bytes the peer stated.")
                if sha256 and digest.hexdigest() != sha256.lower():
                    raise BlobMismatch(f"Download of {url} does not have the sha256 the peer stated.")
            except PeerError:
                stream.close()
                os.unlink(stream.name)
                raise
        return stream.name


def reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
