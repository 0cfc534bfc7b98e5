"""The "More actions" group of each Remote on the Sync page: one entry per action that exists.

A new action of a Remote (Export bundle, Import bundle, Push, …) is one more entry here: a
view of the site root that takes ``?remote=<name>``. The page lists only these entries, so
nothing shows before its view exists.
"""

from dataclasses import dataclass

from zope.i18nmessageid import Message

from senaite_style_sync import _


@dataclass(frozen=True)
class RemoteAction:
    """A link to ``<site>/<view>?remote=<name>``; its element id is ``<id>-<name>``."""

    id: str
    title: Message
    view: str
    css_class: str = ""


MORE_ACTIONS = (
    RemoteAction("updates-link", _("Updates since…"), "@@sync-updates", "updates-since"),
    RemoteAction("history-link", _("History"), "@@sync-history", "history"),
    RemoteAction("bundles-link", _("Bundles and push"), "@@sync-bundles", "bundles"),
)
