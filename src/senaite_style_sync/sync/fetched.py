"""What the readers bring for one object, and the fingerprint of the peer's JSON."""

import hashlib
import json
import os
from dataclasses import dataclass
from dataclasses import field
from functools import cached_property
from typing import Any
from typing import NamedTuple


# Parts of the peer's JSON that say nothing about the object itself.
VOLATILE = frozenset(
    {"@components", "lock", "next_item", "previous_item", "parent", "items", "items_total", "batching"}
)


@dataclass
class Fetched:
    """What the readers brought for one object: its JSON, @sharing, downloaded blobs (temp paths),
    and the files its copy holds already (field name -> sha256: not downloaded)."""

    data: dict[str, Any]
    sharing: dict[str, Any] | None = None
    blob_files: dict[str, str] = field(default_factory=dict)
    kept_blobs: dict[str, str] = field(default_factory=dict)

    @cached_property
    def token(self) -> str:
        # The reader compares it with the recorded one, the writer records it: hash once.
        return content_token(self.data)

    def blob_hash(self, name: str) -> str:
        """sha256 of the downloaded file of field ``name``."""
        digest = hashlib.sha256()
        with open(self.blob_files[name], "rb") as stream:
            for chunk in iter(lambda: stream.read(1024 * 1024), b""):
                digest.update(chunk)
        return digest.hexdigest()


def content_token(data: dict[str, Any]) -> str:
    """Hash of what the peer's JSON says about the object (with its review history)."""
    stable = {key: value for key, value in data.items() if key not in VOLATILE}
    stable["@history"] = ((data.get("@components") or {}).get("workflow") or {}).get("history")
    return hashlib.sha1(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()


class BlobDownload(NamedTuple):
    url: str
    size: int | None  # the size the peer states, when it states one that is a size


def blob_downloads(data: dict[str, Any]) -> dict[str, BlobDownload]:
    """field name -> download of every file/image value in the peer's JSON. A ``download``
    that is no string is passed on as it is: the download refuses it, an error of the object's."""
    downloads = {}
    for name, value in data.items():
        if isinstance(value, dict) and value.get("download") and "filename" in value:
            size = value.get("size")
            downloads[name] = BlobDownload(value["download"], size if type(size) is int and size >= 0 else None)
    return downloads


def discard(fetched: Fetched) -> None:
    """Remove downloaded blob files the write did not consume."""
    for path in fetched.blob_files.values():
        if os.path.exists(path):
            os.unlink(path)
