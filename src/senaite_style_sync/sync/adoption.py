"""May an object here, with the peer's UID but never synced by this remote, become its copy?"""

from senaite_style_sync.sync.origin import origin_of


LEFT_ALONE = "left alone"  # a refusal settled for the local object: not synced, no conflict


def refusal(applier, remote_uid: str, obj, entry) -> str:
    """Why ``obj`` must not become the remote's copy ("" when it may: the user decided so, the
    peer's update-only original, or a copy from this same peer); LEFT_ALONE after the user
    decided to keep it apart."""
    resolution = applier.state.resolutions.get(remote_uid)
    if resolution == "remote":
        return ""
    if resolution == "local":
        return LEFT_ALONE
    owner = applier.owners.get(obj.UID())
    if owner:
        return f"here already: a copy synced from the remote '{owner}'"
    if entry.role == "update-only":
        if obj.getId().startswith(applier.rules.local_prefix):
            return ""
        return "here already, and not one of this site's originals (no Local Prefix)"
    if origin_of(obj) == applier.peer_origin:
        return ""  # a copy from this peer, whose remote was deleted and added again
    return "here already, and not synced from this peer: not overwritten without your decision"
