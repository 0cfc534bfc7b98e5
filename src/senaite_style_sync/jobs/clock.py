"""The Auto-Sync clock. Zope 5+ under WSGI has no clock-server, so the add-on ticks itself.

Only an instance whose zope.conf says so ticks (in buildout: ``zope-conf-additional``)::

    <product-config senaite_style_sync>
        clock-sites /Plone
        clock-period 60
        clock-enabled on
    </product-config>

``clock-sites`` lists the physical paths of the sites to serve. Each tick runs the
``do_auto_sync`` work inside the instance as an unrestricted system user, so no
password is written in any configuration file. On a ZEO cluster, configure the clock
on one client only; the job lock in the database keeps one job per remote anyway.
"""

import logging
import threading
from dataclasses import dataclass

import transaction
from ZODB.POSException import ConflictError
from zope.component.hooks import setSite

from senaite_style_sync.config import product_config
from senaite_style_sync.jobs.schedule import run_auto_sync
from senaite_style_sync.jobs.system import as_system
from senaite_style_sync.model.jobs import CLOCK_USER


logger = logging.getLogger("senaite_style_sync.clock")
TICK_RETRIES = 3
_clocks: list["Clock"] = []


@dataclass(frozen=True)
class ClockSettings:
    sites: tuple[str, ...]
    period: float


def clock_settings(config: dict[str, str]) -> ClockSettings | None:
    """The clock's settings, or None when this instance must not tick."""
    if str(config.get("clock-enabled", "off")).lower() not in ("on", "true", "yes", "1"):
        return None
    sites = tuple(path for path in str(config.get("clock-sites", "")).split() if path)
    if not sites:
        logger.warning("clock-enabled is on but clock-sites names no site: the clock does not run.")
        return None
    return ClockSettings(sites, float(config.get("clock-period", 60)))


class Clock(threading.Thread):
    """Calls the Auto-Sync work for each configured site every ``period`` seconds."""

    def __init__(self, db, settings: ClockSettings) -> None:
        super().__init__(name="senaite_style_sync-clock", daemon=True)
        self.db = db
        self.settings = settings
        self.stopped = threading.Event()

    def run(self) -> None:
        logger.info("Auto-Sync clock ticks every %ss for %s", self.settings.period, ", ".join(self.settings.sites))
        while not self.stopped.wait(self.settings.period):
            for site_path in self.settings.sites:
                self.tick(site_path)

    def stop(self) -> None:
        self.stopped.set()

    def tick(self, site_path: str) -> None:
        with as_system(self.db, CLOCK_USER) as app:
            try:
                for _attempt in range(TICK_RETRIES):
                    try:
                        site = app.unrestrictedTraverse(site_path)
                        setSite(site)
                        decisions = run_auto_sync(site, "clock")
                        transaction.commit()
                        for decision in decisions:
                            if decision.action == "started":
                                logger.info("%s: %s", decision.remote, decision.detail)
                        return
                    except ConflictError:
                        transaction.abort()  # another client or request started it: look again
                logger.warning("Auto-Sync tick for %s gave up after %s write conflicts.", site_path, TICK_RETRIES)
            except Exception:  # noqa: BLE001 -- a failing tick must not stop the clock
                logger.exception("Auto-Sync tick for %s failed", site_path)


def start_clock(event) -> None:
    """Start the clock once the database is open, if this instance is configured to tick."""
    settings = clock_settings(product_config())
    if settings is None:
        return
    clock = Clock(event.database, settings)
    _clocks.append(clock)
    clock.start()


def stop_clocks() -> None:
    while _clocks:
        _clocks.pop().stop()
