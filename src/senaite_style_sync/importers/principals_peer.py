"""The peer's users and groups, read from its stock ``@users`` and ``@groups``."""

from typing import Any
from urllib.parse import quote

from senaite_style_sync.peer.errors import PeerError
from senaite_style_sync.peer.http import PeerHTTP


MEMBERS_BATCH = 1000
MAX_MEMBERS = 1_000_000


def read_peer(http: PeerHTTP) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    """The peer's users, its groups (members complete) and, per group id, why its members are unknown."""
    users = http.get_json(f"{http.url}/@users")
    users = users.get("items") if isinstance(users, dict) else None
    if not _principal_list(users):
        raise PeerError("The peer's @users answered unexpected JSON.")
    groups = http.get_json(f"{http.url}/@groups")  # a JSON list, all groups at once
    if not _principal_list(groups):
        raise PeerError("The peer's @groups answered unexpected JSON.")
    member_errors: dict[str, str] = {}
    for group in groups:
        members = group.get("members") if isinstance(group.get("members"), dict) else {}
        listed = members.get("items") if isinstance(members.get("items"), list) else []
        items = [member for member in listed if isinstance(member, str)]
        total = members.get("items_total", len(items))
        if type(total) is not int or not 0 <= total <= MAX_MEMBERS:
            member_errors[group["id"]] = f"its member count is not one: {total!r:.40}"
            items = []
        elif total > len(items):
            try:
                items = _all_members(http, group["id"])
            except PeerError as error:
                member_errors[group["id"]] = str(error)
        group["member_ids"] = items
    return users, groups, member_errors


def _principal_list(items: Any) -> bool:
    return isinstance(items, list) and all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items)


def _all_members(http: PeerHTTP, group_id: str) -> list[str]:
    """Members of one group, following the batching of ``@groups/<id>`` (on the peer's own
    origin only: PeerHTTP). A page that brings no new member, or more members than the group
    counts, is an error: a peer could page on for ever."""
    page = http.get_object(f"{http.url}/@groups/{quote(group_id, safe='')}", {"b_size": MEMBERS_BATCH})
    members: dict[str, None] = {}  # in the peer's order
    total = None
    while True:
        batch = page.get("members") if isinstance(page.get("members"), dict) else {}
        items = batch.get("items") if isinstance(batch.get("items"), list) else []
        if total is None:
            total = batch.get("items_total")
            if type(total) is not int or not 0 <= total <= MAX_MEMBERS:
                raise PeerError(f"The peer counts the members of {group_id!r:.80} as {total!r:.40}.")
        before = len(members)
        members.update(dict.fromkeys(member for member in items if isinstance(member, str)))
        if len(members) > total + MEMBERS_BATCH:
            raise PeerError(f"The peer lists more members of {group_id!r:.80} than the {total} it counts.")
        batching = batch.get("batching") if isinstance(batch.get("batching"), dict) else {}
        next_url = batching.get("next")
        if not isinstance(next_url, str) or len(members) >= total:
            return list(members)
        if len(members) == before:
            raise PeerError(f"The peer's members of {group_id!r:.80} page on without new members.")
        page = http.get_object(next_url)


def peer_memberships(groups: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Principal id -> every peer group it is in, directly or through other groups."""
    direct: dict[str, set[str]] = {}
    for group in groups:
        for member in group["member_ids"]:
            direct.setdefault(member, set()).add(group["id"])
    closure: dict[str, set[str]] = {}
    for principal in direct:
        seen: set[str] = set()
        todo = list(direct[principal])
        while todo:
            group_id = todo.pop()
            if group_id not in seen:
                seen.add(group_id)
                todo.extend(direct.get(group_id, ()))
        closure[principal] = seen
    return closure
