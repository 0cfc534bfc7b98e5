"""Bundles for the buttons, the REST services and the command line: export, import from a
file or an upload, and where a Remote's imports stand (for a sender that pushes)."""

import os
from typing import IO
from typing import Any

from senaite_style_sync.config import bundle_dir
from senaite_style_sync.jobs.runner import JobRefused
from senaite_style_sync.jobs.runner import start_job
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.remote import Remote
from senaite_style_sync.peer.bundle import save_upload


SINCE_CHOICES = ("", "all")  # after the last bundle exported, or everything


def start_export(site, remote: Remote, since: str, trigger: str, *, in_thread: bool = True) -> Job:
    """Start writing a bundle for ``remote``: ``since`` "" (after the last one), "all", or a
    number of this site's change log."""
    if since not in SINCE_CHOICES and not (since.isdigit() and len(since) < 19):
        raise JobRefused(f"Export from {since[:40]!r}? Give nothing (after the last bundle), 'all', or a number.")
    return start_job(site, remote, "export", trigger, since=since, in_thread=in_thread)


def start_import(site, remote: Remote, source: IO[bytes], trigger: str, *, in_thread: bool = True) -> Job:
    """Keep the bundle read from ``source`` and start applying it (the file goes once applied).
    BundleError when it is too large; JobRefused when the Remote is busy."""
    path = save_upload(source, bundle_dir())
    try:
        job = start_job(site, remote, "bundle", trigger, in_thread=in_thread)
    except BaseException:
        os.unlink(path)
        raise
    job.bundle = path
    return job


def checkpoint(remote: Remote) -> dict[str, Any]:
    """Where the imports from the peer stand: its change log, the last change applied (-1:
    none), the last bundle imported."""
    log, seq = remote.state.feed_checkpoint
    return {"log": log, "seq": seq, "bundle": remote.state.last_bundle}
