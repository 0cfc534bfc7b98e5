"""Import: apply the plan. Readers ahead of one writer, parents first, then moves, deletions, the second pass."""

import time
from collections.abc import Callable
from collections.abc import Collection
from itertools import islice

import transaction
from BTrees.OOBTree import OOTreeSet
from persistent.list import PersistentList

from senaite_style_sync.model.jobs import Job
from senaite_style_sync.model.jobs import JobStore
from senaite_style_sync.peer.errors import PeerError
from senaite_style_sync.peer.readers import GoneFromPeer
from senaite_style_sync.peer.readers import PeerReader
from senaite_style_sync.sync import second_pass
from senaite_style_sync.sync.blob_reuse import LocalBlobs
from senaite_style_sync.sync.chunks import Checkpoints
from senaite_style_sync.sync.chunks import Guard
from senaite_style_sync.sync.conflicts import record_conflict
from senaite_style_sync.sync.plan import Plan
from senaite_style_sync.sync.plan import modified_since
from senaite_style_sync.sync.plan import plan_for
from senaite_style_sync.sync.read_ahead import ReadAhead
from senaite_style_sync.sync.removal import delete_copy
from senaite_style_sync.sync.removal import release
from senaite_style_sync.sync.writer import OUTSIDE
from senaite_style_sync.sync.writer import Applier


RELEASED = "Still on the peer, but outside this remote's scope now: the copy stays here, no longer synced."
GONE_WHILE_READ = "Deleted on the peer since it was listed: the next run deletes its copy."
BACK_ON_PEER = "The peer has it again: kept."


def apply_plan(
    site,
    remote,
    job: Job,
    reader: PeerReader,
    plan: Plan | None = None,
    only: Collection[str] | None = None,
    reread: Collection[str] = (),
) -> set[str]:
    """Apply ``plan`` (by default the remote's plan now: of the objects ``only`` names, when
    it names them); its ``recheck`` objects the user asked to re-read, and a repair's, are
    written even when their JSON looks the same; those in ``reread`` are read again.

    Returns the remote UIDs of the objects that failed (or whose deletion waits for a
    user), for the next run to plan again.
    """
    applier = Applier(site, remote, site.REQUEST, reader.base, reader.identity)
    checkpoints = Checkpoints(job, applier.flush, applier.forget, applier.mark)
    state = remote.state
    if plan is None:
        plan = plan_for(remote, applier.local, job.since, only, reread)
        hold_deletions(remote, job, plan)
        # Their local roles, for one, are not part of the JSON compared.
        forced = set(plan.force) | (
            set(filter(modified_since(remote, job.since), plan.recheck)) if job.since else set()
        )
    else:
        forced = set(plan.recheck)
    job.plan.update(plan.counts())
    conflicts_here = [uid for uid in plan.conflicts if uid in state.index]
    writes = sorted(
        plan.create + plan.update + plan.recheck + conflicts_here,
        key=lambda uid: (state.index[uid].path.count("/"), state.index[uid].position),  # parents first
    )
    deleted_there = [uid for uid in plan.conflicts if uid not in state.index]
    job.total = len(writes) + len(plan.move) + len(plan.delete) + len(deleted_there)
    job.done = 0
    job.heartbeat = time.time()
    transaction.commit()  # the total, shown before the first object is written
    failed: set[str] = {uid for uid, _path in job.pending_deletes}

    def tracked(uid: str, work: Callable[[], None]) -> None:
        errors = job.counts.get("errors", 0)
        work()
        if job.counts.get("errors", 0) > errors:
            failed.add(uid)

    touched_parents: set[str] = set(plan.reorder)
    known_tokens = {uid: state.synced[uid].token for uid in plan.recheck if uid in state.synced and uid not in forced}
    local_uids = {uid: state.synced[uid].local_uid for uid in writes if uid in state.synced}
    local_blobs = LocalBlobs(site, local_uids, reader.http.tmpdir)
    read_ahead = ReadAhead(reader, lambda uid: state.index[uid].path, known_tokens, local_blobs)
    read_ahead.each(
        writes,
        checkpoints,
        lambda uid, fetched, guard: tracked(
            uid, lambda: write_one(applier, job, guard, uid, fetched, touched_parents, uid in forced)
        ),
    )
    checkpoints.run(
        plan.move, lambda uid, guard: tracked(uid, lambda: move_one(applier, job, guard, uid, touched_parents))
    )
    checkpoints.run(plan.delete, lambda uid, guard: tracked(uid, lambda: delete_one(applier, job, guard, uid)))
    for uid in plan.forget:
        del state.synced[uid]
        state.conflicts.pop(uid, None)  # gone on both sides: nothing left to decide
    for uid in [uid for uid in state.conflicts.keys() if uid not in state.index and uid not in state.synced]:
        del state.conflicts[uid]  # a refusal or a deletion here, and the peer deleted it since
    for uid in plan.release:
        job.add_warning(state.synced[uid].remote_path, "release", RELEASED)
        release(applier, uid)
    checkpoints.run(deleted_there, lambda uid, guard: tracked(uid, lambda: deleted_conflict(applier, job, guard, uid)))
    finish(applier, checkpoints, touched_parents, failed)
    return failed


def repair(site, remote, job: Job, reader: PeerReader) -> None:
    """The "repair" step: write again exactly the copies a Verify found different, as the peer has
    them (also where they were edited here), and put their folders' order and default pages
    right; delete the copies the peer no longer has."""
    verified = JobStore(site).get(job.confirms)
    state = remote.state
    differing: dict[str, set[str]] = {}
    for difference in verified.differences:
        differing.setdefault(difference["uid"], set()).add(difference["category"])
    verified.confirmed_by = job.id
    plan = Plan()
    for uid, categories in differing.items():
        entry = state.index.get(uid)
        if entry is None:
            if uid in state.synced and "extra" in categories:
                plan.delete.append(uid)
            continue
        (plan.create if "missing" in categories else plan.recheck).append(uid)
        state.resolutions[uid] = "remote"  # the peer's version, even where the copy was edited here
        if "position" in categories:
            plan.reorder.append(entry.path.rpartition("/")[0])
        if "default_page" in categories:
            state.pending_default_pages = OOTreeSet(set(state.pending_default_pages) | {uid})
    apply_plan(site, remote, job, reader, plan)


def hold_deletions(remote, job: Job, plan: Plan) -> None:
    """Deletions beyond the remote's share of its scope wait for a user's confirmation.

    Like rsync's --max-delete: a peer that suddenly lists far fewer objects (emptied,
    restored from an old backup, or simply wrong) must not empty this site. The run goes
    on without them; the job lists them and ends as "needs-confirmation".
    """
    limit = remote.max_delete_percent
    if not plan.delete or not limit:
        return
    # The scope is large enough when it holds this many copies; counted only that far (the
    # length of a BTree is a walk over all its buckets: O(N) on every run with a deletion).
    enough = -(-len(plan.delete) * 100 // limit)
    if sum(1 for _uid in islice(remote.state.synced.keys(), enough)) >= enough:
        return
    job.pending_deletes = PersistentList((uid, remote.state.synced[uid].remote_path) for uid in plan.delete)
    plan.delete = []


def delete_confirmed(site, remote, job: Job, reader: PeerReader | None) -> None:
    """The "delete" step: carry out the deletions another run held back, as confirmed by a user.

    Only those still synced, still not listed and still gone from the peer are deleted
    (without a ``reader``, for a bundle's deletions: gone when the signed bundle was written).
    """
    held = JobStore(site).get(job.confirms)
    state = remote.state
    uids = [uid for uid, _path in held.pending_deletes if uid in state.synced and uid not in state.index]
    back = {item.uid for item in reader.existing(uids)} if reader is not None else set()
    for uid in back:
        job.add_warning(state.synced[uid].remote_path, "delete", BACK_ON_PEER)
    applier = Applier(site, remote, site.REQUEST, reader.base if reader is not None else remote.url)
    gone = [uid for uid in uids if uid not in back]
    job.total = len(gone)
    held.confirmed_by = job.id
    Checkpoints(job, applier.flush, applier.forget, applier.mark).run(
        gone, lambda uid, guard: delete_one(applier, job, guard, uid)
    )


def write_one(applier: Applier, job: Job, guard: Guard, uid: str, fetched, touched_parents: set[str], force: bool):
    entry = applier.state.index[uid]
    if isinstance(fetched, GoneFromPeer):
        job.add_warning(entry.path, "read", GONE_WHILE_READ)
        return
    if isinstance(fetched, PeerError):
        job.add_error(entry.path, "read", str(fetched))
        return

    def action():
        outcome = applier.write(uid, fetched, force=force)
        job.count("conflicts" if outcome == "conflict" else outcome)
        for note in applier.notes:
            job.add_warning(entry.path, "write", note)
        if outcome in ("created", "updated"):
            touched_parents.add(entry.path.rpartition("/")[0])
            applier.state.conflicts.pop(uid, None)
        if outcome != "conflict" and applier.state.resolutions.get(uid) == "remote":
            applier.state.resolutions.pop(uid)  # carried out (or the versions are the same already)

    guard(entry.path, "write", action)


def move_one(applier: Applier, job: Job, guard: Guard, uid: str, touched_parents: set[str]) -> None:
    entry = applier.state.index[uid]

    def action():
        job.count(applier.move(uid))
        touched_parents.add(entry.path.rpartition("/")[0])

    guard(entry.path, "move", action)


def delete_one(applier: Applier, job: Job, guard: Guard, uid: str) -> None:
    guard(applier.state.synced[uid].remote_path, "delete", lambda: job.count(delete_copy(applier, uid)))


def deleted_conflict(applier: Applier, job: Job, guard: Guard, uid: str) -> None:
    synced = applier.state.synced[uid]

    def action():
        record_conflict(applier, uid, applier.local.find(uid, synced), None)
        job.count("conflicts")

    guard(synced.remote_path, "conflict", action)


def set_relations(applier: Applier, job: Job, uid: str) -> None:
    missing = second_pass.set_relations(applier, uid)
    if missing:
        job.add_warning(applier.state.index[uid].path, "relations", OUTSIDE.format(", ".join(missing)))


def finish(applier: Applier, checkpoints: Checkpoints, touched_parents: set[str], failed: set[str]) -> None:
    """Second pass: relations, default pages, folder order (the children of a folder whose order
    failed go into ``failed``; relations and default pages are retried from the state anyway).

    Committed in chunks like the writes: after a full Import it touches every folder and
    every object with relations, and one transaction of it all would hold them all in memory.
    """
    state = applier.state
    checkpoints.run(
        list(state.pending_relations.keys()),
        lambda uid, guard: guard(uid, "relations", set_relations, applier, guard.job, uid),
        counted=False,
    )
    checkpoints.run(
        list(state.pending_default_pages),
        lambda uid, guard: guard(uid, "default page", second_pass.set_default_page, applier, uid),
        counted=False,
    )
    checkpoints.run(sorted(touched_parents), lambda parent, guard: order(applier, guard, parent, failed), counted=False)


def order(applier: Applier, guard: Guard, parent: str, failed: set[str]) -> None:
    """Order one folder's synced children as on the peer."""
    ranked = sorted((entry.position, uid) for uid, entry in applier.state.children(parent))
    if not ranked:
        return
    uids = [uid for _, uid in ranked]
    errors = guard.job.counts.get("errors", 0)
    guard(parent, "order", second_pass.order_children, applier, parent, uids)
    if guard.job.counts.get("errors", 0) > errors:
        failed.update(uids)
