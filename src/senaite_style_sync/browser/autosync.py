"""The ``do_auto_sync`` hook: what Zope's clock-server used to call; now the add-on's clock, cron or a timer."""

import json

from plone.protect.interfaces import IDisableCSRFProtection
from Products.Five.browser import BrowserView
from zope.interface import alsoProvides

from senaite_style_sync.jobs.schedule import run_auto_sync


class AutoSyncHook(BrowserView):
    """Start due Get Updates jobs and answer at once with a short summary (JSON on request)."""

    def __call__(self) -> str:
        # Called by schedulers with a plain GET; starting a due sync is what the schedule
        # would do anyway, so the GET may write.
        alsoProvides(self.request, IDisableCSRFProtection)
        trigger = "cron" if self.request.get("trigger") == "cron" else "hook"
        decisions = run_auto_sync(self.context, trigger)
        response = self.request.response
        if "application/json" in (self.request.getHeader("Accept") or ""):
            response.setHeader("Content-Type", "application/json")
            return json.dumps({"remotes": [decision.as_dict() for decision in decisions]})
        response.setHeader("Content-Type", "text/plain; charset=utf-8")
        lines = [f"{d.remote}: {d.action} ({d.detail})" for d in decisions] or ["no remote has Auto-Sync on"]
        return "\n".join(lines) + "\n"
