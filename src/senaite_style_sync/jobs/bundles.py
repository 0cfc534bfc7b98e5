"""The bundle steps as job bodies: Export to file, Import from file, and Push.

A Remote's bundle key signs what this site writes for the other site and checks what it
reads from it. Export writes this site's changes since the last bundle (or everything)
into the bundle directory; Import from file applies a bundle as a Get Updates from the
sender would (the same reader checks, plan and writer), only when it starts at this
Remote's checkpoint; Push asks the receiver's ``@sync-bundle`` where it stands, and sends
it a bundle from there.
"""

import glob
import os
import tempfile
from typing import Any
from urllib.parse import quote

from senaite_style_sync.config import bundle_dir
from senaite_style_sync.model.changes import change_log
from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.peer import wire
from senaite_style_sync.peer.bundle import Bundle
from senaite_style_sync.peer.bundle import BundleError
from senaite_style_sync.peer.bundle_reader import BundleReader
from senaite_style_sync.peer.feed import FeedError
from senaite_style_sync.peer.http import PeerHTTP
from senaite_style_sync.server.bundles.export import ExportError
from senaite_style_sync.server.bundles.export import export_bundle
from senaite_style_sync.sync.feed import advance
from senaite_style_sync.sync.feed import update_from_feed
from senaite_style_sync.sync.fetch import fetch
from senaite_style_sync.sync.importing import apply_plan
from senaite_style_sync.sync.local import LocalSite
from senaite_style_sync.sync.scope import TypeRules


ALREADY = "This bundle was imported already: nothing written."
OLDER = (
    "This bundle ends at {head}, and this site has applied the sender's changes up to {seq} already: nothing written."
)
OUT_OF_SEQUENCE = (
    "This bundle starts after change {since} of the sender, but this site has applied its changes up to {seq}:"
    " import the bundles in the order they were written, or ask the sender for a bundle since {seq} (or of"
    " everything)."
)
NOT_STARTED = (
    "This bundle starts after change {since} of the sender, but this site has applied none of this change log"
    " of the sender's yet: import a bundle of everything first."
)
RULES_CHANGED = "The type rules changed since the last import: import a bundle of everything."
OWN = "This bundle was written by this site itself: nothing written."
UNREADABLE = "The bundle's changes cannot be read: {}"
NOTHING_TO_PUSH = "The receiver has every change of this site already: nothing sent."


class BundleRefused(Exception):
    """The bundle step cannot run (no key, a bundle out of sequence, damaged or unsigned, …)."""


def export_since(remote, job: Job, log) -> tuple[int | None, str]:
    """Where an export starts (None: everything) and the id of the bundle it follows.

    ``job.since``: "all", a number of this site's change log, or "" for after the last
    bundle exported for this Remote (everything when there was none, or in another log)."""
    sent_log, sent_head, sent_id = remote.state.bundle_sent
    if job.since == "all":
        return None, ""
    if job.since:
        return int(job.since), sent_id
    if sent_log == log.id and log.floor <= sent_head <= log.head:
        return sent_head, sent_id
    return None, ""


def write_bundle(site, remote, job: Job, directory: str, since: int | None, previous: str) -> tuple[str, dict]:
    """The path of a new bundle in ``directory``, and its manifest."""
    os.makedirs(directory, exist_ok=True)
    descriptor, path = tempfile.mkstemp(prefix=f"{remote.name}.", suffix=".zip", dir=directory)
    os.close(descriptor)

    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total

    try:
        manifest = export_bundle(site, site.REQUEST, path, remote.bundle_key(), since, previous, progress)
    except ExportError as error:
        os.unlink(path)
        raise BundleRefused(str(error)) from None
    except BaseException:
        os.unlink(path)
        raise
    return path, manifest


def export_step(site, remote, job: Job) -> None:
    log = change_log(site)
    if log is None:
        raise BundleRefused("This site keeps no change log: install the add-on's profile again.")
    since, previous = export_since(remote, job, log)
    directory = bundle_dir()
    path, manifest = write_bundle(site, remote, job, directory, since, previous)
    # The latest export of a Remote is kept, no more: older ones, and what an export that was
    # interrupted left ("." is in no Remote's name: another Remote's files do not match).
    for older in glob.glob(os.path.join(glob.escape(directory), f"{remote.name}.*.zip")):
        if older != path:
            os.unlink(older)
    for older in JobStore(site).history(remote.name):
        if older.step == "export" and older.bundle and older.bundle != path:
            if os.path.exists(older.bundle):
                os.unlink(older.bundle)
            older.bundle = ""
    job.bundle = path
    job.counts["objects"] = manifest["objects"]
    remote.state.bundle_sent = (manifest["log"], manifest["head"], manifest["id"])
    job.message = described(manifest)


def described(manifest: dict[str, Any]) -> str:
    what = "everything" if manifest["since"] is None else f"the changes after {manifest['since']}"
    return f"Bundle {manifest['id']}: {what} up to change {manifest['head']}, {manifest['objects']} objects."


def import_step(site, remote, job: Job, tmpdir: str) -> None:
    """Apply the bundle at ``job.bundle`` (removed afterwards, however the step ends)."""
    try:
        try:
            bundle = Bundle(job.bundle, remote.bundle_key())
        except BundleError as error:
            raise BundleRefused(str(error)) from None
        try:
            apply_bundle(site, remote, job, BundleReader(bundle, tmpdir))
        except BundleError as error:  # in its listing (what fails in an object is that object's error)
            raise BundleRefused(str(error)) from None
        finally:
            bundle.close()
    finally:
        if os.path.exists(job.bundle):
            os.unlink(job.bundle)


def apply_bundle(site, remote, job: Job, reader: BundleReader) -> None:
    """Apply a checked bundle, once every check that can refuse it passed (nothing written before)."""
    manifest = reader.manifest
    state = remote.state
    if manifest["origin"] == site.UID():
        raise BundleRefused(OWN)
    if manifest["id"] == state.last_bundle:
        job.add_warning("", "bundle", ALREADY)
        return
    log, seq = state.feed_checkpoint
    feed = None
    if manifest["since"] is None:
        if log == manifest["log"] and seq >= manifest["head"]:
            raise BundleRefused(OLDER.format(head=manifest["head"], seq=seq))
        fetch(remote, job, reader, LocalSite(site))
    else:
        if log != manifest["log"] or seq < 0:
            raise BundleRefused(NOT_STARTED.format(since=manifest["since"]))
        if seq != manifest["since"]:
            raise BundleRefused(OUT_OF_SEQUENCE.format(since=manifest["since"], seq=seq))
        if state.feed_rules != TypeRules(remote).digest():
            raise BundleRefused(RULES_CHANGED)
        try:
            reader.changes(seq, log)
        except (BundleError, FeedError) as error:
            raise BundleRefused(UNREADABLE.format(error)) from None
        feed = update_from_feed(remote, job, reader, LocalSite(site))
        if feed is None:  # (checked above: it can be used)
            raise BundleRefused(UNREADABLE.format("see the warnings"))
    only = feed.only if feed is not None else None
    failed = apply_plan(site, remote, job, reader, only=only, reread=feed.reread if feed else ())
    if remote.last_plan != dict(job.plan):
        remote.last_plan = dict(job.plan)  # the plan this import applied, shown on the Sync page
    advance(state, job, failed, 0)
    state.last_bundle = manifest["id"]
    job.message = described(manifest)


def push_step(site, remote, job: Job, http: PeerHTTP) -> None:
    """Send the receiver a bundle of this site's changes since its checkpoint for this Remote."""
    log = change_log(site)
    if log is None:
        raise BundleRefused("This site keeps no change log: install the add-on's profile again.")
    url = f"{http.url}/{wire.SYNC_BUNDLE}/{quote(remote.name)}"
    answer = http.get_object(url)
    their_log, seq, previous = answer.get("log"), answer.get("seq"), answer.get("bundle")
    if not isinstance(their_log, str) or type(seq) is not int or not isinstance(previous, str):
        raise BundleRefused(f"The receiver's {wire.SYNC_BUNDLE} answered without its checkpoint.")
    since = seq if their_log == log.id and log.floor <= seq <= log.head else None
    if since is not None and since == log.head:
        job.message = NOTHING_TO_PUSH
        return
    path, manifest = write_bundle(site, remote, job, http.tmpdir or tempfile.gettempdir(), since, previous)
    try:
        sent = http.upload(url, path)
    finally:
        os.unlink(path)
    receiver_job = sent.get("job") if isinstance(sent, dict) else None
    job.counts["objects"] = manifest["objects"]
    job.message = f"{described(manifest)} Sent; the receiver applies it as its job {receiver_job!s:.300}."
