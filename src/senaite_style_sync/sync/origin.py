"""Which peer a copy came from: recorded on the copy when the sync writes it.

An object that is here already, with the UID the peer lists, but that this remote has not
synced is taken over silently only when it came from the same peer (a copy kept when its
remote was deleted and added again); anything else — a local original, another remote's
copy — is never overwritten, moved, locked or deleted without the user's decision.
"""

from zope.annotation.interfaces import IAnnotations


ORIGIN_KEY = "senaite_style_sync.origin"


def origin_of(obj) -> str:
    """The peer (its site's UID, or URL) the copy was written from; "" for anything else."""
    annotations = IAnnotations(obj, None)
    value = annotations.get(ORIGIN_KEY, "") if annotations is not None else ""
    return value if isinstance(value, str) else ""


def mark_origin(obj, origin: str) -> None:
    if origin and origin_of(obj) != origin:
        IAnnotations(obj)[ORIGIN_KEY] = origin
