"""Files the sync need not download: the copy holds them already, or another object here does.

A peer with this add-on states the sha256 of each file it serves (``@blob-sha256``). Before
a file is downloaded the reader asks here: when the copy being written holds a file with
that sha256 in that field, the file stays as it is (its name and type follow the peer);
when another object of this site holds one (the change log's index of files,
model/changes.py), its bytes are copied from the blob storage, and checked against the
sha256 on the way. Anything else is downloaded, as before.

Reader threads never use the writer's ZODB connection: lookups go through a connection of
their own, one at a time, each on the newest committed state (a file the writer committed
a chunk earlier is found too).
"""

import hashlib
import os
import tempfile
import threading

import transaction
from Acquisition import aq_base
from plone.uuid.interfaces import IUUID
from ZODB.POSException import ConflictError

from senaite_style_sync.model.changes import change_log
from senaite_style_sync.sync.fingerprint import BLOB_CHUNK
from senaite_style_sync.sync.fingerprint import blob_sha256
from senaite_style_sync.sync.local import resolve_path


KEEP = "keep"  # the copy holds the file already: nothing to download or copy


class LocalBlobs:
    """Made by the writer, asked by the reader threads (see the module's docstring)."""

    def __init__(self, site, local_uids: dict[str, str], tmpdir: str | None = None) -> None:
        self.db = site._p_jar.db()
        self.site_path = site.getPhysicalPath()
        self.local_uids = local_uids  # remote UID -> UID of its synced copy here
        self.tmpdir = tmpdir
        self.lock = threading.Lock()
        self.manager: transaction.TransactionManager | None = None
        self.connection = None

    def site(self):
        """The site in this helper's own connection, at the newest committed state."""
        if self.connection is None:
            self.manager = transaction.TransactionManager()
            self.connection = self.db.open(transaction_manager=self.manager)
        self.manager.begin()
        return self.connection.root()["Application"].unrestrictedTraverse(self.site_path)

    def provide(self, remote_uid: str, name: str, sha256: str) -> str | None:
        """KEEP, the path of a local copy of the file (the caller owns it), or None: download it."""
        try:
            with self.lock:
                site = self.site()
                local_uid = self.local_uids.get(remote_uid)  # a synced copy: kept in place
                if local_uid and self.held_by_copy(site, local_uid, name, sha256):
                    return KEEP
                source = self.source(site, sha256)
        except ConflictError:
            return None
        except Exception:  # noqa: BLE001 -- a file not found here is downloaded, as before
            return None
        return self.copy(source, sha256) if source is not None else None

    @staticmethod
    def value(obj, uid: str, name: str):
        if obj is None or IUUID(obj, None) != uid:
            return None
        return getattr(aq_base(obj), name, None)

    def held_by_copy(self, site, uid: str, name: str, sha256: str) -> bool:
        log = change_log(site)
        newest = log.newest(uid) if log is not None else None
        obj = resolve_path(site, newest.path) if newest is not None and not newest.deleted else None
        if obj is None:  # a copy the log has not seen since it was made: found by the catalog
            for brain in site.portal_catalog.unrestrictedSearchResults(UID=uid):
                obj = resolve_path(site, "/".join(brain.getPath().split("/")[len(self.site_path) :]))
        value = self.value(obj, uid, name)
        return value is not None and hasattr(value, "filename") and blob_sha256(value) == sha256

    def source(self, site, sha256: str):
        """A file here with that sha256, by the change log's index: a blob file's path, or the bytes."""
        log = change_log(site)
        ref = log.blobs.get(sha256) if log is not None else None
        if ref is None:
            return None
        path, uid, name = ref
        value = self.value(resolve_path(site, path), uid, name)
        if value is None:
            return None
        blob = getattr(value, "_blob", None)
        return blob.committed() if blob is not None else bytes(value.data)

    def copy(self, source: str | bytes, sha256: str) -> str | None:
        """A new temporary file with the bytes of ``source``, if they have that sha256."""
        digest = hashlib.sha256()
        with tempfile.NamedTemporaryFile(prefix="sync-blob-", dir=self.tmpdir, delete=False) as stream:
            if isinstance(source, bytes):
                stream.write(source)
                digest.update(source)
            else:
                with open(source, "rb") as original:
                    for chunk in iter(lambda: original.read(BLOB_CHUNK), b""):
                        stream.write(chunk)
                        digest.update(chunk)
        if digest.hexdigest() != sha256.lower():
            os.unlink(stream.name)
            return None
        return stream.name

    def close(self) -> None:
        with self.lock:
            if self.connection is not None:
                self.manager.abort()
                self.connection.close()
                self.connection = None
