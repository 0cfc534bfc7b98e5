"""What goes wrong when talking to a peer, as the errors the pipeline records."""

import requests


class PeerError(Exception):
    """The peer did not give a usable answer, even after retries."""


class PeerTimeout(PeerError):
    """The peer did not answer in time, or its answer arrived too slowly."""


class PeerAccessError(PeerError):
    """The peer refused access (HTTP 401 or 403)."""


class PeerNotFound(PeerError):
    """The peer has nothing at that URL (HTTP 404)."""


class PeerAnswerError(PeerError):
    """The peer answered, but not with what was asked: an error status or something not JSON."""


class PeerGone(PeerAnswerError):
    """The peer no longer has what was asked for (HTTP 410): its change log no longer reaches back there."""


class BlobMismatch(PeerError):
    """A download does not have the size or sha256 the peer stated."""


def check_status(response: requests.Response, url: str) -> None:
    """Raise the PeerError that an HTTP error status means."""
    status = response.status_code
    if status in (401, 403):
        raise PeerAccessError(f"The peer refused access to {url} (HTTP {status}).")
    if status == 404:
        raise PeerNotFound(f"Not found on the peer: {url}")
    if status == 410:
        raise PeerGone(f"Gone from the peer: {url}")
    if status >= 400:
        raise PeerAnswerError(f"HTTP {status} from {url}")
