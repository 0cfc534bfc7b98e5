"""The three steps as job bodies: Fetch (list the peer), Import (apply the plan), Update (both).

HTTP reads run in a small thread pool ahead of the single writer (this job's thread),
so reading and writing overlap; memory stays bounded by the number of batches in flight.
The writer commits every COMMIT_EVERY objects together with the job's progress: a killed
instance loses at most one batch, and rerunning the step recomputes the plan from what
was recorded, so it continues where it stopped and never duplicates an object.
"""

import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from datetime import timezone

import transaction
from BTrees.OOBTree import OOBTree
from BTrees.OOBTree import OOTreeSet
from persistent.list import PersistentList
from ZODB.POSException import ConflictError

from senaite_style_sync.engine.apply import Applier
from senaite_style_sync.engine.apply import blob_download_urls
from senaite_style_sync.engine.apply import Fetched
from senaite_style_sync.engine.local import LocalSite
from senaite_style_sync.engine.plan import make_plan
from senaite_style_sync.engine.plan import parse_time
from senaite_style_sync.engine.plan import Plan
from senaite_style_sync.engine.principals import import_principals
from senaite_style_sync.engine.registry import import_registry
from senaite_style_sync.engine.scope import build_index
from senaite_style_sync.engine.scope import TypeRules
from senaite_style_sync.jobs.store import Job
from senaite_style_sync.jobs.store import JobStore
from senaite_style_sync.peers.client import GoneFromPeer
from senaite_style_sync.peers.client import PeerClient
from senaite_style_sync.peers.client import PeerError
from senaite_style_sync.peers.client import READ_BATCH
from senaite_style_sync.peers.client import SHARING_KEY


COMMIT_EVERY = 25
RELEASED = "Still on the peer, but outside this remote's scope now: the copy stays here, no longer synced."
HEARTBEAT_EVERY = 30  # seconds between commits of a long listing's progress
READERS = 4
FIRST_BATCH = 5
CONFLICT_RETRIES = 3


def run_step(site, remote, job: Job) -> None:
    client = PeerClient(remote.url, remote.username, remote.password(), remote.certificate_path)
    local = LocalSite(site)
    if job.step == "delete":
        delete_confirmed(site, remote, job, client)
    if job.step in ("fetch", "update"):
        fetch(remote, job, client, local)
    if job.step in ("import", "update"):
        apply_plan(site, remote, job, client)
        state = remote.state
        if not job.counts.get("errors") and state.cursor != state.listed_at:
            state.cursor = state.listed_at
        # After the cursor: a registry or user error must not hold the content cursor back.
        if remote.import_settings or remote.import_registry:
            import_registry(site, remote, job, client)
            transaction.commit()
        if remote.import_users:
            import_principals(site, remote, job, client)
            transaction.commit()
    job.counts["requests"] = client.requests_made
    errors = job.counts.get("errors", 0)
    job.message = summary(job)
    remote.record_run(job.step, f"{errors} errors" if errors else "ok", job.done)


def summary(job: Job) -> str:
    keys = ("created", "updated", "moved", "deleted", "conflicts", "records", "users", "groups", "errors", "warnings")
    parts = [f"{job.counts[key]} {key}" for key in keys if job.counts.get(key)]
    if job.step == "fetch":
        parts.insert(0, f"{job.total} objects in scope")
    if job.pending_deletes:
        parts.append(f"{len(job.pending_deletes)} deletions wait for confirmation")
    return ", ".join(parts) or "nothing to do"


def modified_since(remote, since: str):
    """A test: was the peer's object modified since ``since`` (the manual Get Updates date)?"""
    index = remote.state.index
    since_time = parse_time(since)

    def test(uid: str) -> bool:
        modified = parse_time(index[uid].modified)
        return since_time is not None and modified is not None and modified >= since_time

    return test


def plan_for(remote, local: LocalSite, since: str = "") -> Plan:
    return make_plan(remote.state, local, policy=remote.conflict_policy, force=modified_since(remote, since))


# -- Fetch -------------------------------------------------------------------------


def fetch(remote, job: Job, client: PeerClient, local: LocalSite) -> None:
    """List the peer in scope into the remote's index; then plan, without writing content."""
    state = remote.state
    state.listed_at = datetime.now(timezone.utc).isoformat(timespec="seconds")

    def listed(count: int) -> None:
        job.done = count
        if time.time() - job.heartbeat > HEARTBEAT_EVERY:
            # The new index is not attached yet, so this commits only the job's progress.
            job.heartbeat = time.time()
            transaction.commit()

    items = client.listing(on_page=listed)
    rules = TypeRules(remote)
    index, paths = build_index(items, rules)
    # A copy is deleted only once the peer confirms its UID is gone: one the listing left
    # out but the peer still has is listed after all; one the peer lists outside the scope
    # is let go, not deleted.
    listed = {item.uid for item in items}
    found = client.existing(uid for uid in state.synced.keys() if uid not in listed)
    if found:
        for item in found:
            job.add_warning(item.path, "fetch", "Not in the peer's listing, but the peer still has it: kept.")
        index, paths = build_index(items + found, rules)
        listed.update(item.uid for item in found)
    outside = OOTreeSet(uid for uid in state.synced.keys() if uid in listed and uid not in index)
    if list(outside) != list(state.outside):
        state.outside = outside
    default_pages = OOBTree()
    for page_uid in client.default_page_uids():
        entry = index.get(page_uid)
        folder_uid = paths.get(entry.path.rpartition("/")[0]) if entry else None
        if folder_uid:
            default_pages[folder_uid] = page_uid
    # Replace only what changed: an unchanged peer writes nothing here.
    if list(index.items()) != list(state.index.items()) or list(default_pages.items()) != list(
        state.default_pages.items()
    ):
        state.replace_index(index, paths, default_pages)
    job.total = job.done = len(index)
    counts = plan_for(remote, local, job.since).counts()
    job.plan.update(counts)
    if remote.last_plan != counts:
        remote.last_plan = counts


# -- Import ------------------------------------------------------------------------


def read_chunks(uids: list[str]) -> list[list[str]]:
    """Batches of READ_BATCH, the first ones smaller: the writer starts while the peer serves the rest."""
    chunks = []
    size = FIRST_BATCH
    while uids:
        chunks.append(uids[:size])
        uids = uids[size:]
        size = min(size * 2, READ_BATCH)
    return chunks


class Reader:
    """Reads batches of objects (JSON, @sharing, blobs) in a thread pool, a few batches ahead."""

    def __init__(self, client: PeerClient, paths: dict[str, str], known_tokens: dict[str, str]) -> None:
        # Plain dicts, not ZODB objects: reader threads must not touch the writer's connection.
        self.client = client
        self.paths = paths
        self.known_tokens = known_tokens
        self.pool = ThreadPoolExecutor(READERS, thread_name_prefix="sync-reader")

    def read(self, uids: list[str]) -> dict[str, Fetched | PeerError]:
        paths = self.paths
        result: dict[str, Fetched | PeerError] = {}
        for uid, data in self.client.read_objects(uids).items():
            if isinstance(data, PeerError):
                result[uid] = data
                continue
            sharing = data.pop(SHARING_KEY, None)  # not part of the content's token
            fetched = Fetched(data)
            if self.known_tokens.get(uid) == fetched.token:
                result[uid] = fetched  # unchanged content: sharing and blobs are not needed
                continue
            try:
                fetched.sharing = sharing if sharing is not None else self.client.sharing(paths[uid])
                for name, url in blob_download_urls(data).items():
                    fetched.blob_files[name] = self.client.download(url)
            except PeerError as error:
                discard(fetched)
                result[uid] = error
                continue
            result[uid] = fetched
        return result

    def batches(self, uids: list[str]) -> Iterator[tuple[list[str], dict[str, Fetched | PeerError]]]:
        chunks = read_chunks(uids)
        futures: list[Future] = [self.pool.submit(self.read, chunk) for chunk in chunks[:READERS]]
        for number, chunk in enumerate(chunks):
            result = futures[number].result()
            if number + READERS < len(chunks):
                futures.append(self.pool.submit(self.read, chunks[number + READERS]))
            futures[number] = None  # let the batch go once written
            yield chunk, result

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def discard(fetched: Fetched) -> None:
    """Remove downloaded blob files the write did not consume."""
    for path in fetched.blob_files.values():
        if os.path.exists(path):
            os.unlink(path)


def apply_plan(site, remote, job: Job, client: PeerClient) -> None:
    applier = Applier(site, remote, site.REQUEST, client.base)
    state = remote.state
    plan = plan_for(remote, applier.local, job.since)
    job.plan.update(plan.counts())
    hold_deletions(remote, job, plan)
    parents_first = lambda uid: (state.index[uid].path.count("/"), state.index[uid].position)  # noqa: E731
    conflicts_here = [uid for uid in plan.conflicts if uid in state.index]
    writes = sorted(plan.create + plan.update + plan.recheck + conflicts_here, key=parents_first)
    job.total = len(writes) + len(plan.move) + len(plan.delete) + len(plan.conflicts) - len(conflicts_here)
    job.done = 0
    job.heartbeat = time.time()
    transaction.commit()
    touched_parents: set[str] = set()
    # Objects the user asked to re-read are written even when their JSON looks the same
    # (their local roles, for one, are not part of it).
    forced = set(filter(modified_since(remote, job.since), plan.recheck)) if job.since else set()
    known_tokens = {
        uid: state.synced[uid].token for uid in plan.recheck if uid in state.synced and uid not in forced
    }
    reader = Reader(client, {uid: state.index[uid].path for uid in writes}, known_tokens)
    try:
        for chunk, fetched in reader.batches(writes):
            commit_chunk(
                job, chunk, lambda uid: write_one(applier, job, uid, fetched[uid], touched_parents, uid in forced), applier
            )
            for item in fetched.values():
                if isinstance(item, Fetched):
                    discard(item)
    finally:
        reader.close()
    for start in range(0, len(plan.move), COMMIT_EVERY):
        chunk = plan.move[start : start + COMMIT_EVERY]
        commit_chunk(job, chunk, lambda uid: move_one(applier, job, uid, touched_parents), applier)
    for start in range(0, len(plan.delete), COMMIT_EVERY):
        chunk = plan.delete[start : start + COMMIT_EVERY]
        commit_chunk(
            job,
            chunk,
            lambda uid: guarded(job, state.synced[uid].remote_path, "delete", lambda: job.count(applier.delete(uid))),
        )
    for uid in plan.forget:
        del state.synced[uid]
    for uid in plan.release:
        job.add_warning(state.synced[uid].remote_path, "release", RELEASED)
        applier.release(uid)
    deleted_there = [uid for uid in plan.conflicts if uid not in state.index]
    commit_chunk(
        job,
        deleted_there,
        lambda uid: guarded(job, state.synced[uid].remote_path, "conflict", lambda: deleted_conflict(applier, job, uid)),
    )
    commit_chunk(job, ["finish"], lambda _: finish(applier, job, touched_parents))


def hold_deletions(remote, job: Job, plan: Plan) -> None:
    """Deletions beyond the remote's share of its scope wait for a user's confirmation.

    Like rsync's --max-delete: a peer that suddenly lists far fewer objects (emptied,
    restored from an old backup, or simply wrong) must not empty this site. The run goes
    on without them; the job lists them and ends as "needs-confirmation".
    """
    limit = remote.max_delete_percent
    scope = len(remote.state.synced)
    if not plan.delete or not limit or len(plan.delete) * 100 <= limit * scope:
        return
    job.pending_deletes = PersistentList((uid, remote.state.synced[uid].remote_path) for uid in plan.delete)
    plan.delete = []


def delete_confirmed(site, remote, job: Job, client: PeerClient) -> None:
    """The "delete" step: carry out the deletions another run held back, as confirmed by a user.

    Only those still synced, still not listed and still gone from the peer are deleted.
    """
    held = JobStore(site).get(job.confirms)
    state = remote.state
    uids = [uid for uid, _path in held.pending_deletes if uid in state.synced and uid not in state.index]
    back = {item.uid for item in client.existing(uids)}
    for uid in back:
        job.add_warning(state.synced[uid].remote_path, "delete", "The peer has it again: kept.")
    applier = Applier(site, remote, site.REQUEST, client.base)
    gone = [uid for uid in uids if uid not in back]
    job.total = len(gone)
    held.confirmed_by = job.id
    for start in range(0, len(gone), COMMIT_EVERY):
        chunk = gone[start : start + COMMIT_EVERY]
        commit_chunk(
            job,
            chunk,
            lambda uid: guarded(job, state.synced[uid].remote_path, "delete", lambda: job.count(applier.delete(uid))),
        )


def deleted_conflict(applier: Applier, job: Job, uid: str) -> None:
    applier.record_conflict(uid, applier.local.find(uid, applier.state.synced[uid]), None)
    job.count("conflicts")


def commit_chunk(job: Job, chunk: list[str], work, applier: Applier | None = None) -> None:
    """Do ``work`` for each item, then commit with the job's progress.

    The first pass takes no savepoint per item: when an item fails, the chunk is rolled back
    and done again carefully, with a savepoint per item, so only the failing item's error is
    recorded. A write conflict at commit redoes the chunk.
    """
    conflicts = 0
    careful.on = False
    try:
        while True:
            try:
                for item in chunk:
                    work(item)
                    job.done += 1
                if applier is not None:
                    applier.flush()
                job.heartbeat = time.time()
                transaction.commit()
                return
            except ConflictError:
                conflicts += 1
                if conflicts == CONFLICT_RETRIES:
                    transaction.abort()
                    raise
            except RedoCarefully:
                careful.on = True
            transaction.abort()  # also rolls the job's progress back to its last commit
            if applier is not None:
                applier.forget()
    finally:
        careful.on = True


class RedoCarefully(Exception):
    """An item failed in a chunk's first pass: redo the chunk with a savepoint per item."""


# Whether guarded() takes a savepoint per item (unset: it does); per thread, as each job has its own.
careful = threading.local()


def guarded(job: Job, label: str, step: str, action) -> None:
    """Run one object's action; a failure is rolled back to a savepoint and recorded, the job goes on."""
    if not getattr(careful, "on", True):
        try:
            action()
        except ConflictError:
            raise
        except Exception as error:  # noqa: BLE001 -- redone with a savepoint, then recorded
            raise RedoCarefully() from error
        return
    savepoint = transaction.savepoint(optimistic=True)
    try:
        action()
    except ConflictError:
        raise
    except Exception as error:  # noqa: BLE001 -- one object's failure must not stop the job
        savepoint.rollback()
        job.add_error(label, step, f"{type(error).__name__}: {error}")


def write_one(applier: Applier, job: Job, uid: str, fetched, touched_parents: set[str], force: bool) -> None:
    entry = applier.state.index[uid]
    if isinstance(fetched, GoneFromPeer):
        job.add_warning(entry.path, "read", "Deleted on the peer since it was listed: the next run deletes its copy.")
        return
    if isinstance(fetched, PeerError):
        job.add_error(entry.path, "read", str(fetched))
        return

    def action():
        outcome = applier.write(uid, fetched, force=force)
        job.count("conflicts" if outcome == "conflict" else outcome)
        if outcome in ("created", "updated"):
            touched_parents.add(entry.path.rpartition("/")[0])
            applier.state.conflicts.pop(uid, None)
            applier.state.resolutions.pop(uid, None)

    guarded(job, entry.path, "write", action)


def move_one(applier: Applier, job: Job, uid: str, touched_parents: set[str]) -> None:
    entry = applier.state.index[uid]

    def action():
        job.count(applier.move(uid))
        touched_parents.add(entry.path.rpartition("/")[0])

    guarded(job, entry.path, "move", action)


def finish(applier: Applier, job: Job, touched_parents: set[str]) -> None:
    """Second pass: relations, default pages, folder order."""
    state = applier.state
    for uid in list(state.pending_relations.keys()):
        guarded(job, uid, "relations", lambda: applier.set_relations(uid))
    for folder_uid, page_uid in list(state.default_pages.items()):
        guarded(job, folder_uid, "default page", lambda: applier.set_default_page(folder_uid, page_uid))
    siblings: dict[str, list[tuple[int, str]]] = defaultdict(list)
    if touched_parents:
        for uid, entry in state.index.items():
            parent = entry.path.rpartition("/")[0]
            if parent in touched_parents:
                siblings[parent].append((entry.position, uid))
    for parent, ranked in siblings.items():
        guarded(job, parent, "order", lambda: applier.order_children(parent, [uid for _, uid in sorted(ranked)]))
    job.done -= 1  # the finishing pass is not an object
