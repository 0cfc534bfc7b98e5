"""(h) and (f) of ``make bench``: two instances as deployed, each a process on FileStorage.

For each size, a peer instance builds the corpus (benchmarks/deployed.py) while a destination
instance starts; the destination gets a Remote for the peer over REST and runs Fetch +
Import, then twice Get Updates after 14 changes on the peer (10 edits, 2 moves, 2 deletions),
all over REST as a user would; then once more with the peer serving plone.restapi only (the
add-on's layer taken off), so that Get Updates lists the peer as from a stock peer. Times are
the jobs' own (started to ended). Memory is the destination process's: its peak resident
memory during Fetch + Import above what it held before, beside the objects its ZODB caches
then hold (up to the instance's cache-size).

What is checked, from plain plone.restapi on both sites: the destination lists every object
the peer lists, at the same path with the same title and review state, after the Import and
after Get Updates.
"""

import json
import tempfile
import time
from datetime import datetime
from pathlib import Path

from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD

from benchmarks.deployed import SITES
from benchmarks.served import ServedProcess
from senaite_style_sync.model.jobs import UNFINISHED


READY = "INSTANCE-READY "
EDITS, MOVES, DELETES = 10, 2, 2
# (f) runs twice: the first Get Updates after the Import, then one more after new changes.
F_ROUNDS = 2
JOB_TIMEOUT = 4 * 3600


class Instance(ServedProcess):
    """One benchmarks.deployed process; its site is read and changed over HTTP."""

    def __init__(self, role: str, directory: Path, n: int) -> None:
        super().__init__("benchmarks.deployed", [role, directory, n], READY)
        self.role = role
        self.url = ""
        self.setup_seconds = 0.0

    def wait_ready(self) -> None:
        info = self.ready()
        self.url = f"http://127.0.0.1:{info['port']}/{SITES[self.role]}"
        self.setup_seconds = info["setup_seconds"]

    def stats(self, command: str = "stats") -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def call(self, method: str, path: str, **kwargs) -> dict:
        response = self.http.request(method, f"{self.url}/{path}" if path else self.url, timeout=300, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} on the {self.role}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else {}

    def listing(self) -> dict[str, tuple[str, str, str]]:
        """UID -> (path in the site, title, review state), from plain @search."""
        found, start = {}, 0
        prefix = self.url.split("/", 3)[3]
        while True:
            page = self.call(
                "GET",
                "@search",
                params={"b_size": 1000, "b_start": start, "metadata_fields": ["UID", "review_state"]},
            )
            for item in page["items"]:
                path = item["@id"].split("/", 3)[3][len(prefix) + 1 :]
                if path:  # not the site root (a catalogued object in Plone 6)
                    found[item["UID"]] = (path, item["title"], item.get("review_state") or "")
            start += 1000
            if start >= page["items_total"]:
                return found

    def run_step(self, remote: str, step: str) -> dict:
        """Start ``step`` of ``remote`` over REST and wait for its job; the job's data."""
        job_url = self.call("POST", f"@sync-remotes/{remote}/@{step}", json={})["@id"]
        deadline = time.monotonic() + JOB_TIMEOUT
        while time.monotonic() < deadline:
            response = self.http.get(job_url, timeout=300)
            response.raise_for_status()
            job = response.json()
            if job["state"] not in UNFINISHED:
                if job["state"] != "done":
                    raise AssertionError(f"The {step} job ended {job['state']}: {job['message']}")
                job["seconds"] = (
                    datetime.fromisoformat(job["ended"]) - datetime.fromisoformat(job["started"])
                ).total_seconds()
                return job
            time.sleep(0.2)
        raise AssertionError(f"The {step} job did not end within {JOB_TIMEOUT} s.")


def differences(peer: dict, destination: dict) -> list[str]:
    """What the destination's listing lacks or has otherwise than the peer's (at most 10)."""
    found = [f"{peer[uid][0]}: missing" for uid in peer.keys() - destination.keys()]
    found += [f"{destination[uid][0]}: not on the peer" for uid in destination.keys() - peer.keys()]
    found += [
        f"{peer[uid]} became {destination[uid]}"
        for uid in peer.keys() & destination.keys()
        if peer[uid] != destination[uid]
    ]
    return sorted(found)[:10]


def change_peer(peer: Instance, listing: dict[str, tuple[str, str, str]], round_: int) -> None:
    """10 edits (Events), 2 moves and 2 deletions (Files) on the peer, over its REST API; each
    round edits other Events."""
    by_type: dict[str, list[str]] = {}
    for path, _title, _state in sorted(listing.values()):
        kind = path.rsplit("/", 1)[-1].split("-", 1)[0]
        by_type.setdefault(kind, []).append(path)
    for number, path in enumerate(by_type["event"][round_ * EDITS : (round_ + 1) * EDITS]):
        peer.call("PATCH", path, json={"title": f"Event edited {round_}.{number}"})
    files = by_type["file"]
    moved = [path for path in files if not path.startswith("folder-0/")][:MOVES]
    for path in moved:
        peer.call("POST", "folder-0/@move", json={"source": [f"{peer.url}/{path}"]})
    for path in [path for path in files if path not in moved][:DELETES]:
        peer.call("DELETE", path)


def deployed_run(n: int, directory: Path, progress) -> dict:
    """(h) and (f) for a corpus of ``n`` objects; the figures and any problems found."""
    result: dict = {"n": n, "problems": []}
    run = Path(tempfile.mkdtemp(prefix=f"{n}-", dir=directory))
    peer = Instance("peer", run / "peer", n)
    destination = Instance("destination", run / "destination", 0)
    try:
        destination.wait_ready()
        peer.wait_ready()
        progress(f"(h) {n}: the peer built its corpus in {peer.setup_seconds:.0f} s")
        remote = {"name": "peer", "url": peer.url, "username": SITE_OWNER_NAME, "password": SITE_OWNER_PASSWORD}
        destination.call("POST", "@sync-remotes", json=remote)
        before = destination.stats("reset")
        fetch = destination.run_step("peer", "fetch")
        imported = destination.run_step("peer", "import")
        after = destination.stats()
        result["fetch_seconds"], result["import_seconds"] = fetch["seconds"], imported["seconds"]
        result["seconds"] = fetch["seconds"] + imported["seconds"]
        result["rate"] = n / result["seconds"]
        result["requests"] = fetch["counts"].get("requests", 0) + imported["counts"].get("requests", 0)
        if imported["counts"].get("created") != n or fetch["errors"] or imported["errors"]:
            result["problems"].append(
                f"(h) {n}: created {imported['counts'].get('created')}, errors {fetch['errors'] + imported['errors']}"
            )
        result["memory_before_mib"] = before["rss_mib"]
        result["memory_growth_mib"] = after["peak_mib"] - before["rss_mib"]
        result["cached_objects"] = after["cached_objects"]
        result["data_fs_mib"] = after["data_fs_mib"]
        progress(f"(h) {n}: Fetch + Import {result['seconds']:.1f} s ({result['rate']:.1f} objects/s)")
        peer_listing = peer.listing()
        if found := differences(peer_listing, destination.listing()):
            result["problems"].append(f"(h) {n}: after the Import, " + "; ".join(found))
        result["f"] = []
        for round_ in range(F_ROUNDS + 1):
            if round_ == F_ROUNDS:
                peer.stats("stock")  # the last round: Get Updates from a peer without the add-on
            change_peer(peer, peer_listing, round_)
            updated = destination.run_step("peer", "update")
            counts = {key: updated["counts"].get(key, 0) for key in ("updated", "moved", "deleted", "errors")}
            figures = {"seconds": updated["seconds"], "requests": updated["counts"].get("requests", 0)}
            result["f"].append(figures | {"counts": counts, "stock": round_ == F_ROUNDS})
            if updated["errors"]:
                result["problems"].append(f"(f) {n}, round {round_ + 1}: errors {updated['errors']}")
            peer_listing = peer.listing()
            if found := differences(peer_listing, destination.listing()):
                result["problems"].append(f"(f) {n}, round {round_ + 1}: after Get Updates, " + "; ".join(found))
            progress(f"(f) {n}: Get Updates {updated['seconds']:.2f} s, {figures['requests']} requests")
    finally:
        destination.stop()
        peer.stop()
    return result
