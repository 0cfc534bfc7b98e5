"""Bundles for the buttons, the REST services and the command line: export, import from a
file or an upload, and where a Remote's imports stand (for a sender that pushes)."""

import os
from typing import IO
from typing import Any

import transaction
from transaction.interfaces import IDataManager
from zope.interface import implementer

from senaite_style_sync import _
from senaite_style_sync.config import bundle_dir
from senaite_style_sync.jobs.runner import JobRefused
from senaite_style_sync.jobs.runner import start_job
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.remote import Remote
from senaite_style_sync.peer.bundle import BundleError
from senaite_style_sync.peer.bundle import save_upload


SINCE_CHOICES = ("", "all")  # after the last bundle exported, or everything
NO_KEY = _("This Remote has no bundle key yet: give one in its settings first.")


def start_export(site, remote: Remote, since: str, trigger: str, *, in_thread: bool = True) -> Job:
    """Start writing a bundle for ``remote``: ``since`` "" (after the last one), "all", or a
    number of this site's change log."""
    if since not in SINCE_CHOICES and not (since.isdigit() and len(since) < 19):
        raise JobRefused(f"Export from {since[:40]!r}? Give nothing (after the last bundle), 'all', or a number.")
    return start_job(site, remote, "export", trigger, since=since, in_thread=in_thread)


@implementer(IDataManager)
class DiscardOnAbort:
    """Removes a file kept for a job when the transaction that starts the job does not commit
    (a conflict retried, an error): the job that would remove it never runs."""

    transaction_manager = transaction.manager

    def __init__(self, path: str) -> None:
        self.path = path
        self.committed = False

    def discard(self, txn=None) -> None:
        # (abort is also called after a commit, once the after-commit hooks ran)
        if not self.committed and os.path.exists(self.path):
            os.unlink(self.path)

    abort = tpc_abort = discard

    def tpc_finish(self, txn) -> None:
        self.committed = True

    def tpc_begin(self, txn) -> None:
        pass

    def commit(self, txn) -> None:
        pass

    def tpc_vote(self, txn) -> None:
        pass

    def sortKey(self) -> str:
        return f"senaite_style_sync.bundle:{self.path}"


def start_import(site, remote: Remote, source: IO[bytes], trigger: str, *, in_thread: bool = True) -> Job:
    """Keep the bundle read from ``source`` and start applying it (the file goes once applied,
    or when this transaction does not commit). BundleError when it is too large or the Remote
    has no bundle key to check it with; JobRefused when the Remote is busy."""
    if not remote.has_bundle_key:
        raise BundleError(NO_KEY)
    path = save_upload(source, bundle_dir())
    try:
        job = start_job(site, remote, "bundle", trigger, in_thread=in_thread)
    except BaseException:
        os.unlink(path)
        raise
    transaction.get().join(DiscardOnAbort(path))
    job.bundle = path
    return job


def checkpoint(remote: Remote) -> dict[str, Any]:
    """Where the imports from the peer stand: its change log, the last change applied (-1:
    none), the last bundle imported."""
    log, seq = remote.state.feed_checkpoint
    return {"log": log, "seq": seq, "bundle": remote.state.last_bundle}
