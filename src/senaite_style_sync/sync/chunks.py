"""Work done in chunks, each committed with the job's progress: the checkpoints of a run.

A killed instance loses at most one chunk; rerunning the step recomputes the plan from
what was recorded, so it continues where it stopped and never duplicates an object.
"""

import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

import transaction
from plone.dexterity.content import ASSIGNABLE_CACHE_KEY
from ZODB.POSException import ConflictError
from zope.globalrequest import getRequest

from senaite_style_sync.model.jobs import Job


COMMIT_EVERY = 25
CONFLICT_RETRIES = 3


def nothing() -> None:
    """What a rollback of no cache does."""


def forget_request_caches() -> None:
    """Drop what Plone caches per request from this thread's request.

    A job keeps one request from start to end, and on it the catalog caches the interim
    results of each query (``__catalog_cache__``) and plone.dexterity each object's behavior
    assignable, which holds the object: entries per object, so without this a job's memory
    grows with the number of objects it handles.
    """
    request = getRequest()
    if request is None:
        return
    other = getattr(request, "other", None)
    if isinstance(other, dict):
        other.pop("__catalog_cache__", None)
    vars(request).pop(ASSIGNABLE_CACHE_KEY, None)


class RequestCachesPerTransaction:
    """A transaction synchronizer: the request's caches end with each commit or abort.

    An abort rewinds the catalog's change counter, which is part of its cache keys, so an
    entry cached by the aborted work could otherwise answer the same query after it.
    """

    def beforeCompletion(self, txn) -> None:  # noqa: N802 -- transaction's ISynchronizer
        pass

    def afterCompletion(self, txn) -> None:  # noqa: N802
        forget_request_caches()

    def newTransaction(self, txn) -> None:  # noqa: N802
        pass


@contextmanager
def request_caches_per_transaction() -> Iterator[None]:
    """Within, the thread's request caches last one transaction (see RequestCachesPerTransaction)."""
    synchronizer = RequestCachesPerTransaction()  # the manager holds it weakly: this frame keeps it
    transaction.manager.registerSynch(synchronizer)
    try:
        yield
    finally:
        transaction.manager.unregisterSynch(synchronizer)
        forget_request_caches()


class RedoCarefully(Exception):
    """An item failed in a chunk's first pass: redo the chunk with a savepoint per item."""


class Guard:
    """Runs one object's action; a failure is recorded on the job and the run goes on.

    A quick guard takes no savepoint and turns a failure into RedoCarefully; a careful one
    rolls the failed action back to its savepoint, calls what ``mark()`` gave before the
    action (the caches' own rollback), and records the error.
    """

    def __init__(self, job: Job, careful: bool, mark: Callable[[], Callable[[], None]] = lambda: nothing) -> None:
        self.job = job
        self.careful = careful
        self.mark = mark

    def __call__(self, label: str, step: str, action: Callable[..., Any], *args: Any) -> None:
        if not self.careful:
            try:
                action(*args)
            except ConflictError:
                raise
            except Exception as error:  # noqa: BLE001 -- redone with a savepoint, then recorded
                raise RedoCarefully() from error
            return
        savepoint = transaction.savepoint(optimistic=True)
        rolled_back = self.mark()
        try:
            action(*args)
        except ConflictError:
            raise
        except Exception as error:  # noqa: BLE001 -- one object's failure must not stop the job
            savepoint.rollback()
            rolled_back()
            forget_request_caches()  # the rollback rewound the catalog's counter too
            self.job.add_error(label, step, f"{type(error).__name__}: {error}")


class Checkpoints:
    """Runs work over items in chunks of COMMIT_EVERY, committing each with the job's progress.

    The first pass over a chunk takes no savepoint per item: when an item fails, the chunk
    is rolled back and done again carefully, so only the failing item's error is recorded
    (batches without failures are cheaper that way). A write conflict at commit redoes the
    chunk. ``flush`` runs before each commit, ``forget`` after each rollback (the writer's
    caches of the aborted transaction), ``mark`` as the guards' (see Guard).
    """

    def __init__(
        self,
        job: Job,
        flush: Callable[[], None] = lambda: None,
        forget: Callable[[], None] = lambda: None,
        mark: Callable[[], Callable[[], None]] = lambda: nothing,
    ):
        self.job = job
        self.flush = flush
        self.forget = forget
        self.mark = mark

    def run(self, items: Sequence[Any], work: Callable[[Any, Guard], None], *, counted: bool = True) -> None:
        """``work(item, guard)`` for each item; each item counts as one done unless not ``counted``."""
        for start in range(0, len(items), COMMIT_EVERY):
            self.commit(items[start : start + COMMIT_EVERY], work, counted=counted)

    def commit(self, chunk: Sequence[Any], work: Callable[[Any, Guard], None], *, counted: bool) -> None:
        conflicts = 0
        careful = False
        while True:
            try:
                for item in chunk:
                    work(item, Guard(self.job, careful, self.mark))
                    if counted:
                        self.job.done += 1
                self.flush()
                self.job.heartbeat = time.time()
                transaction.commit()
                return
            except ConflictError:
                conflicts += 1
                if conflicts == CONFLICT_RETRIES:
                    transaction.abort()
                    raise
            except RedoCarefully:
                careful = True
            transaction.abort()  # also rolls the job's progress back to its last commit
            self.forget()
