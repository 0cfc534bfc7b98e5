"""Conflicts of one Remote: both versions side by side, and a decision per conflict."""

import json
from typing import Any

from plone import api
from plone.protect import CheckAuthenticator
from plone.protect import PostOnly
from Products.Five.browser import BrowserView
from zExceptions import BadRequest

from senaite_style_sync import _
from senaite_style_sync.actions.conflicts import TAKE_CHOICES
from senaite_style_sync.actions.conflicts import ConflictNotFound
from senaite_style_sync.actions.conflicts import NotMergeable
from senaite_style_sync.actions.conflicts import conflict_data
from senaite_style_sync.actions.conflicts import keep_local
from senaite_style_sync.actions.conflicts import merge
from senaite_style_sync.actions.conflicts import mergeable
from senaite_style_sync.actions.conflicts import take_remote
from senaite_style_sync.actions.jobs import step_title
from senaite_style_sync.actions.messages import message
from senaite_style_sync.actions.remotes import same_origin
from senaite_style_sync.browser.steps import TRIGGER
from senaite_style_sync.browser.utils import requested_remote
from senaite_style_sync.jobs.runner import active_job
from senaite_style_sync.sync.local import LocalSite


# Shown for both versions, in this order, whether they differ or not.
SUMMARY_FIELDS = (
    ("title", _("Title")),
    ("modified", _("Modified")),
    ("review_state", _("State")),
    ("@type", _("Type")),
    ("description", _("Summary")),
)
# Keys that always differ between two sites or say nothing about the content.
IGNORED_KEYS = frozenset(
    {
        "UID",
        "parent",
        "previous_item",
        "next_item",
        "items",
        "items_total",
        "batching",
        "lock",
        "version",
        "working_copy",
        "working_copy_of",
        "allow_discussion",
        "is_folderish",
    }
)
SHOWN_CHARS = 200


def shown(value: Any) -> str:
    """A short readable form of a JSON value."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, dict):
        if "title" in value and ("token" in value or "@id" in value):
            value = value["title"]
        elif "data" in value and "content-type" in value:
            value = value["data"]
        elif "filename" in value:
            value = value["filename"]
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def site_neutral(value: Any, bases: tuple[str, ...]) -> str:
    """A value as JSON text with each site's own URL as "{site}": what makes both versions comparable."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    for base in bases:
        if base:
            text = text.replace(base.rstrip("/"), "{site}")
    return text


def compare(local: dict | None, remote: dict | None, bases: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Rows (label, local, remote, differs) side by side: the summary fields, then every other
    field that differs (URLs of either site compared as "{site}/…")."""
    local = local or {}
    remote = remote or {}
    summary_keys = {key for key, _label in SUMMARY_FIELDS}
    other = sorted(
        key
        for key in set(local) | set(remote)
        if not key.startswith("@")
        and key not in IGNORED_KEYS
        and key not in summary_keys
        and site_neutral(local.get(key), bases) != site_neutral(remote.get(key), bases)
    )
    return [
        {
            "key": key.lstrip("@"),
            "label": label,
            "local": shown(local.get(key)),
            "remote": shown(remote.get(key)),
            "differs": site_neutral(local.get(key), bases) != site_neutral(remote.get(key), bases),
        }
        for key, label in list(SUMMARY_FIELDS) + [(key, key) for key in other]
    ]


def peer_link(value: Any, peer_url: str) -> tuple[str, str]:
    """(href, text): the peer's ``@id`` as a link only when it is an http(s) URL on the peer's
    own origin; anything else (a ``javascript:`` URL, another site) only as text."""
    if not isinstance(value, str) or not value:
        return "", ""
    return (value, "") if same_origin(value, peer_url) else ("", value)


def pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False)
    except ValueError:
        return text or _("(could not be read)")


class SyncConflictsView(BrowserView):
    """@@sync-conflicts?remote=<name>: GET lists; POST (CSRF token) settles one conflict."""

    def __call__(self) -> str:
        self.remote = requested_remote(self.context, self.request)
        if self.request.method != "POST":
            return self.index()
        PostOnly(self.request)
        CheckAuthenticator(self.request)
        take = self.request.form.get("take")
        uid = self.request.form.get("uid")
        if take not in TAKE_CHOICES or not isinstance(uid, str):
            raise BadRequest(_("Give a conflict (uid) and take=remote, take=local or take=fields."))
        try:
            if take == "fields":
                try:
                    text, kind = (
                        merge(self.context, self.remote, uid, self.request.form.get("fields"), self.request),
                        "info",
                    )
                except NotMergeable as refused:
                    text, kind = refused.args[0], "error"
            elif take == "remote":
                job, text = take_remote(self.context, self.remote, uid, self.request, TRIGGER)
                kind = "info" if job is not None or uid not in self.remote.state.index else "warning"
            else:
                text, kind = keep_local(self.context, self.remote, uid, self.request), "info"
        except ConflictNotFound:
            text, kind = _("That conflict is no longer recorded: it was settled already."), "warning"
        api.portal.show_message(text, self.request, type=kind)
        self.request.response.redirect(self.page_url())
        return ""

    def page_url(self) -> str:
        return f"{self.context.absolute_url()}/@@sync-conflicts?remote={self.remote.name}"

    def sync_url(self) -> str:
        return f"{self.context.absolute_url()}/@@sync"

    def running(self) -> str:
        job = active_job(self.context, self.remote)
        if job is None:
            return ""
        return _(
            "The ${step} job for '${remote}' is running (${done}/${total}): "
            "a decision taken now is applied by the next Import.",
            mapping={"step": step_title(job.step), "remote": self.remote.name, "done": job.done, "total": job.total},
        )

    def conflicts(self) -> list[dict[str, Any]]:
        state = self.remote.state
        local_site = LocalSite(self.context)
        items = []
        for number, conflict in enumerate(state.conflicts.values()):
            data = conflict_data(conflict)
            rows = compare(
                data["local_version"], data["remote_version"], (self.context.absolute_url(), self.remote.url)
            )
            synced = state.synced.get(conflict.remote_uid)
            local_obj = local_site.find(conflict.remote_uid, synced) if synced is not None else None
            remote_href, remote_text = peer_link((data["remote_version"] or {}).get("@id"), self.remote.url)
            fields = mergeable(self.context, self.remote, conflict.remote_uid) if local_obj is not None else set()
            for row in rows:
                row["mergeable"] = row["differs"] and row["key"] in fields
            items.append(
                {
                    "number": number,
                    "uid": conflict.remote_uid,
                    "path": conflict.path,
                    "reason": message(conflict.reason),
                    "detected": (conflict.detected or "")[:19].replace("T", " "),
                    "rows": rows,
                    "local_url": local_obj.absolute_url() if local_obj is not None else "",
                    "remote_url": remote_href,
                    "remote_id_text": remote_text,
                    "deleted_on_peer": conflict.remote_uid not in state.index,
                    "deleted_here": local_obj is None and not conflict.local_version,
                    "mergeable": any(row["mergeable"] for row in rows),
                    "settled_for_remote": state.resolutions.get(conflict.remote_uid) == "remote",
                    "local_json": pretty(conflict.local_version),
                    "remote_json": pretty(conflict.remote_version),
                }
            )
        return items
