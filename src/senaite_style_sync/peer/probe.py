"""Test connection: tell apart an unreachable peer, a TLS failure, wrong credentials and a non-Plone site."""

from dataclasses import dataclass

import requests

from senaite_style_sync.peer.http import PeerSession


PROBE_TIMEOUT = 10


@dataclass(frozen=True)
class ConnectionReport:
    """Outcome of a connection test; ``code`` is one of ok, unreachable, tls, credentials, not-plone, error."""

    code: str
    message: str

    @property
    def ok(self) -> bool:
        return self.code == "ok"


def _json(response: requests.Response) -> dict | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def check_connection(url: str, username: str = "", password: str = "", certificate_path: str = "") -> ConnectionReport:
    """Reach the peer's REST API at ``url`` and, with a username, log in to it."""
    session = PeerSession(url, username, password, certificate_path)
    try:
        response = session.get(session.peer_url, timeout=PROBE_TIMEOUT, allow_redirects=False)
        site = _json(response)
        if response.status_code in (401, 403) and username:
            return ConnectionReport("credentials", "The peer refused the username or password.")
        if response.status_code != 200 or site is None or "@id" not in site:
            return ConnectionReport(
                "not-plone",
                f"{url} answered (HTTP {response.status_code}) but is not a Plone site with plone.restapi.",
            )
        if not username:
            return ConnectionReport("ok", f"Connected to {site.get('title') or url} without logging in.")
        login = session.post(
            f"{session.peer_url}/@login",
            json={"login": username, "password": password},
            timeout=PROBE_TIMEOUT,
            allow_redirects=False,
        )
    except requests.exceptions.SSLError as error:
        return ConnectionReport("tls", f"TLS failure: the peer's certificate could not be verified ({_reason(error)}).")
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
        return ConnectionReport("unreachable", f"The peer cannot be reached: {_reason(error)}.")
    except requests.exceptions.RequestException as error:
        return ConnectionReport("error", f"The connection failed: {_reason(error)}.")
    if login.status_code in (401, 403):
        return ConnectionReport("credentials", "The peer refused the username or password.")
    if login.status_code != 200 or "token" not in (_json(login) or {}):
        return ConnectionReport(
            "error",
            f"The peer's login service answered HTTP {login.status_code}; check that plone.restapi is installed.",
        )
    return ConnectionReport("ok", f"Connected to {site.get('title') or url} and logged in as {username}.")


def _reason(error: Exception) -> str:
    """The innermost cause of a requests error, without the URL noise around it."""
    while error.__context__ is not None and error.__context__ is not error:
        error = error.__context__
    return str(error) or type(error).__name__
