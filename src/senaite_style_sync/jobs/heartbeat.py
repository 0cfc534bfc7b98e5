"""A running job's heartbeat: a thread that moves the job's Pulse while the job reads or plans.

The job's own transaction commits only at its checkpoints, and one slow batch or a long plan
takes longer than the lock's expiry (model/jobs.py STALE_AFTER). The heartbeat commits on a
connection of its own, and only the job's Pulse, which nothing else writes: it never
conflicts with the job's commits and never commits the job's half-done work.
"""

import logging
import threading
import time

import transaction
from ZODB.POSException import ConflictError


logger = logging.getLogger("senaite_style_sync")
BEAT_EVERY = 20.0  # seconds; well below STALE_AFTER
STOP_WAIT = 10.0


class Heartbeat(threading.Thread):
    """Moves the Pulse with ``pulse_oid`` every ``BEAT_EVERY`` seconds until stopped."""

    def __init__(self, db, pulse_oid: bytes, name: str) -> None:
        super().__init__(name=f"{name}-heartbeat", daemon=True)
        self.db = db
        self.pulse_oid = pulse_oid
        self.every = BEAT_EVERY
        self.stopped = threading.Event()

    def run(self) -> None:
        manager = transaction.TransactionManager()
        connection = self.db.open(transaction_manager=manager)
        try:
            while not self.stopped.wait(self.every):
                self.beat(manager, connection)
        finally:
            manager.abort()
            connection.close()

    def beat(self, manager, connection) -> None:
        try:
            manager.begin()
            connection.get(self.pulse_oid).at = time.time()
            manager.commit()
        except ConflictError:
            manager.abort()  # the next beat tries again
        except Exception:  # noqa: BLE001 -- a failing beat must not end the heartbeat; the lock may expire
            manager.abort()
            logger.exception("The heartbeat of %s failed", self.name)

    def stop(self) -> None:
        self.stopped.set()
        self.join(STOP_WAIT)
