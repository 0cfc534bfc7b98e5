"""The Sync page: every Remote with its settings summary, last runs and step buttons."""

from typing import Any

from Products.Five.browser import BrowserView
from zope.component import getUtility
from zope.schema.interfaces import IVocabularyFactory

from senaite_style_sync.browser.steps import STEP_TITLES
from senaite_style_sync.remotes.remote import Remote
from senaite_style_sync.remotes.schema import IRemote
from senaite_style_sync.remotes.schema import TYPE_RULE_FIELDS
from senaite_style_sync.remotes.schema import TYPES_VOCABULARY
from senaite_style_sync.remotes.storage import RemoteStorage


def type_rules_summary(remote: Remote, type_titles: dict[str, str]) -> list[str]:
    """One line per type rule that is set, naming types by title; no full-sync types means all types."""
    lines = []
    for field_name in TYPE_RULE_FIELDS:
        types = getattr(remote, field_name)
        if types:
            lines.append(f"{IRemote[field_name].title}: {', '.join(type_titles.get(t, t) for t in types)}")
    if not remote.full_sync_types:
        lines.insert(0, "Full sync: all types")
    return lines


def last_run_summary(remote: Remote, step: str) -> str:
    run = remote.last_runs.get(step)
    if not run:
        return "never"
    return f"{run['time']:%Y-%m-%d %H:%M} — {run['outcome']} ({run['count']} items)"


class SyncOverview(BrowserView):
    """@@sync"""

    steps = STEP_TITLES

    def rows(self) -> list[dict[str, Any]]:
        vocabulary = getUtility(IVocabularyFactory, TYPES_VOCABULARY)(self.context)
        type_titles = {term.value: term.title for term in vocabulary}
        return [
            {
                "name": remote.name,
                "url": remote.url,
                "remote_prefix": remote.remote_prefix or "—",
                "local_prefix": remote.local_prefix or "—",
                "rules": type_rules_summary(remote, type_titles),
                "auto_sync": f"every {remote.auto_sync_interval} min" if remote.auto_sync else "off",
                "last_runs": [(STEP_TITLES[step], last_run_summary(remote, step)) for step in STEP_TITLES],
            }
            for remote in RemoteStorage(self.context)
        ]
