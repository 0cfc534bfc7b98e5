"""Objects read in a small thread pool a few batches ahead of the single writer.

Reading and writing overlap; memory stays bounded by the number of batches in flight.
Reader threads get plain dicts, never ZODB objects: they must not touch the writer's
connection.
"""

from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from senaite_style_sync.peer import wire
from senaite_style_sync.peer.errors import PeerError
from senaite_style_sync.peer.readers import READ_BATCH
from senaite_style_sync.peer.readers import PeerReader
from senaite_style_sync.sync.blob_reuse import KEEP
from senaite_style_sync.sync.blob_reuse import LocalBlobs
from senaite_style_sync.sync.chunks import Checkpoints
from senaite_style_sync.sync.chunks import Guard
from senaite_style_sync.sync.fetched import Fetched
from senaite_style_sync.sync.fetched import blob_downloads
from senaite_style_sync.sync.fetched import discard


READERS = 4
FIRST_BATCH = 5


def read_chunks(uids: list[str]) -> list[list[str]]:
    """Batches of READ_BATCH, the first ones smaller: the writer starts while the peer serves the rest."""
    chunks = []
    size = FIRST_BATCH
    while uids:
        chunks.append(uids[:size])
        uids = uids[size:]
        size = min(size * 2, READ_BATCH)
    return chunks


class ReadAhead:
    """Reads batches of objects (JSON, local roles, blobs) in a thread pool, a few batches ahead.

    ``path_of`` gives a remote UID's path on the peer; it is called on the writer's thread, a
    batch at a time, so no map of every object's path is held through the run.
    ``known_tokens`` (remote UID -> fingerprint written last) spares the local roles and
    blobs of objects whose JSON is unchanged; ``local_blobs`` (blob_reuse.py), where given,
    spares downloading a file whose sha256 the peer states and that is here already.
    """

    def __init__(
        self,
        reader: PeerReader,
        path_of: Callable[[str], str],
        known_tokens: dict[str, str],
        local_blobs: LocalBlobs | None = None,
    ) -> None:
        self.reader = reader
        self.path_of = path_of
        self.known_tokens = known_tokens
        self.local_blobs = local_blobs
        self.pool = ThreadPoolExecutor(READERS, thread_name_prefix="sync-reader")

    def submit(self, uids: list[str]) -> Future:
        paths = {uid: self.path_of(uid) for uid in uids}
        return self.pool.submit(self.read, uids, paths)

    def read(self, uids: list[str], paths: dict[str, str]) -> dict[str, Fetched | PeerError]:
        return {uid: self.fetch(uid, data, paths[uid]) for uid, data in self.reader.read_objects(uids).items()}

    def fetch(self, uid: str, data: dict[str, Any] | PeerError, path: str) -> Fetched | PeerError:
        """One object's JSON with its local roles and downloaded files; a PeerError, saying why,
        when any of it cannot be had or is malformed (the object's error, not the run's)."""
        if isinstance(data, PeerError):
            return data
        fetched = Fetched(data)
        try:
            sharing = data.pop(wire.SHARING_KEY, None)  # not part of the content's token
            if self.known_tokens.get(uid) == fetched.token:
                return fetched  # unchanged content: sharing and blobs are not needed
            fetched.sharing = sharing if sharing is not None else self.reader.sharing(path)
            if not isinstance(fetched.sharing, dict):
                raise PeerError(f"its local roles are not a JSON object: {fetched.sharing!r:.80}")
            hashes = data.get(wire.BLOB_SHA256) if isinstance(data.get(wire.BLOB_SHA256), dict) else {}
            for name, blob in blob_downloads(data).items():
                sha256 = hashes.get(name) if isinstance(hashes.get(name), str) else None
                here = self.local_blobs.provide(uid, name, sha256) if self.local_blobs and sha256 else None
                if here == KEEP:
                    fetched.kept_blobs[name] = sha256
                elif here is not None:
                    fetched.blob_files[name] = here
                else:
                    fetched.blob_files[name] = self.reader.http.download(blob.url, blob.size, sha256)
        except Exception as error:  # noqa: BLE001 -- whatever the peer sent, it is this object's error
            discard(fetched)
            message = str(error) if isinstance(error, PeerError) else f"{type(error).__name__}: {error}"
            return PeerError(f"The peer's answer for this object cannot be used: {message:.500}")
        return fetched

    def batches(self, uids: list[str]) -> Iterator[tuple[list[str], dict[str, Fetched | PeerError]]]:
        chunks = read_chunks(uids)
        futures: list[Future | None] = [self.submit(chunk) for chunk in chunks[:READERS]]
        for number, chunk in enumerate(chunks):
            result = futures[number].result()
            if number + READERS < len(chunks):
                futures.append(self.submit(chunks[number + READERS]))
            futures[number] = None  # let the batch go once written
            yield chunk, result

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self.local_blobs is not None:
            self.local_blobs.close()

    def each(self, uids: list[str], checkpoints: Checkpoints, work: Callable[[str, Any, Guard], None]) -> None:
        """``work(uid, fetched or PeerError, guard)`` for each of ``uids`` as its batch arrives, each
        batch committed as a chunk; downloads the work did not consume are removed after it."""
        try:
            for chunk, fetched in self.batches(uids):

                def one(uid: str, guard: Guard, fetched=fetched) -> None:
                    work(uid, fetched[uid], guard)

                checkpoints.commit(chunk, one, counted=True)
                for item in fetched.values():
                    if isinstance(item, Fetched):
                        discard(item)
        finally:
            self.close()
