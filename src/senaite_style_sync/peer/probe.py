"""Test connection: tell apart an unreachable peer, a TLS failure, wrong credentials and a non-Plone site."""

from dataclasses import dataclass

import requests

from senaite_style_sync.peer.errors import PeerAccessError
from senaite_style_sync.peer.errors import PeerAnswerError
from senaite_style_sync.peer.errors import PeerError
from senaite_style_sync.peer.errors import PeerNotFound
from senaite_style_sync.peer.http import PeerHTTP


PROBE_TIMEOUT = 10


@dataclass(frozen=True)
class ConnectionReport:
    """Outcome of a connection test; ``code`` is one of ok, unreachable, tls, credentials, not-plone, error."""

    code: str
    message: str

    @property
    def ok(self) -> bool:
        return self.code == "ok"


def check_connection(url: str, username: str = "", password: str = "", certificate_path: str = "") -> ConnectionReport:
    """Reach the peer's REST API at ``url`` and, with a username, log in to it (once, no retries)."""
    http = PeerHTTP(url, username, password, certificate_path, retries=0, timeout=PROBE_TIMEOUT)
    try:
        try:
            site = http.get_json(http.url)
        except PeerAccessError:
            if username:
                return ConnectionReport("credentials", "The peer refused the username or password.")
            raise
        if not isinstance(site, dict) or "@id" not in site:
            return ConnectionReport("not-plone", f"{url} answered, but is not a Plone site with plone.restapi.")
        if not username:
            return ConnectionReport("ok", f"Connected to {title(site, url)} without logging in.")
        login = http.post_json(f"{http.url}/@login", {"login": username, "password": password})
    except PeerAccessError:
        return ConnectionReport("credentials", "The peer refused the username or password.")
    except PeerError as error:
        return failure(url, error)
    if not isinstance(login, dict) or "token" not in login:
        return ConnectionReport("error", "The peer's login gave no token; check that plone.restapi is installed.")
    return ConnectionReport("ok", f"Connected to {title(site, url)} and logged in as {username}.")


def title(site: dict, url: str) -> str:
    value = site.get("title")
    return value if isinstance(value, str) and value else url


def failure(url: str, error: PeerError) -> ConnectionReport:
    """What a failed request tells about the connection: TLS, reachability, or the answer."""
    cause = error.__cause__
    if isinstance(cause, requests.exceptions.SSLError):
        return ConnectionReport("tls", f"TLS failure: the peer's certificate could not be verified ({_reason(cause)}).")
    if isinstance(cause, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return ConnectionReport("unreachable", f"The peer cannot be reached: {_reason(cause)}.")
    if isinstance(error, (PeerNotFound, PeerAnswerError)):
        return ConnectionReport("not-plone", f"{url} answered, but is not a Plone site with plone.restapi ({error})")
    return ConnectionReport("error", f"The connection failed: {_reason(cause) if cause else error}")


def _reason(error: BaseException) -> str:
    """The innermost cause of a requests error, without the URL noise around it."""
    while error.__context__ is not None and error.__context__ is not error:
        error = error.__context__
    return str(error) or type(error).__name__
