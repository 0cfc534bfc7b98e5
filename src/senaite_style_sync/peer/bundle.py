"""Offline bundles: the file format (peer/wire.py), its signature and its checks.

A bundle holds what a pull from the sending site would read: its listing or its change
feed since a number, the objects named, their files once by sha256, the order of the
folders concerned. Every member's sha256 is in ``manifest-sha256.txt`` (as in BagIt), and
the whole file is signed with HMAC-SHA256 and a key both sites share (the signature is the
zip's comment, its last bytes). A bundle is read only after the signature and every
member's hash were checked; then ``BundleReader`` (peer/bundle_reader.py) answers the sync as
a peer would, so the same checks of the peer's answers, the same plan and the same writer apply.

The file is untrusted input, even signed (the sending site may be a stolen laptop, with
its key): its size, its central directory, its number of members, each member's size, the
size of all it inflates to, its lines and their number are bounded; only stored and
deflated members and the format's names are accepted, and a file is taken out once however
often the objects name it.
"""

import hashlib
import hmac
import itertools
import json
import os
import re
import struct
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Iterable
from collections.abc import Iterator
from typing import IO
from typing import Any

from senaite_style_sync.config import product_config
from senaite_style_sync.peer import wire
from senaite_style_sync.peer.errors import PeerError
from senaite_style_sync.peer.http import max_blob_bytes
from senaite_style_sync.peer.listing import MAX_TEXT
from senaite_style_sync.peer.listing import UID


# The largest bundle accepted: product-config ``max-bundle-size`` (bytes), else this (waitress
# refuses request bodies over 1 GiB unless its ``max_request_body_size`` is raised too).
MAX_BUNDLE_BYTES = 1024**3
# What all its members may inflate to, at most: this many times its size.
MAX_INFLATION = 8
MAX_MEMBERS = 250_000
MAX_DIRECTORY_BYTES = 64 * 1024**2
# The most a member other than a file may hold once inflated (a listing of many objects is the largest).
MAX_RECORDS_BYTES = 256 * 1024**2
MAX_LINE_BYTES = 1024**2
MAX_OBJECT_BYTES = 64 * 1024**2
COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
END_OF_DIRECTORY = struct.Struct("<4s4H2LH")  # the zip's end record, before the 64-byte comment
ZIP64_LOCATOR = struct.Struct("<4sLQL")
ZIP64_END = struct.Struct("<4sQ2H2L4Q")
SHA256 = re.compile(r"[0-9a-f]{64}")
MEMBER = re.compile(r"(objects/[0-9A-Za-z_-]{1,64}\.json|blobs/[0-9a-f]{64})")
RECORDS = ("site.json", "listing.jsonl", "default_pages.json", "changes.jsonl", "lookup.jsonl", "orders.json")
CHUNK = 1024 * 1024


class BundleError(PeerError):
    """The bundle cannot be used: damaged, unsigned, signed with another key, or malformed."""


def max_bundle_bytes() -> int:
    try:
        return max(int(product_config().get("max-bundle-size", MAX_BUNDLE_BYTES)), 1)
    except ValueError:
        return MAX_BUNDLE_BYTES


def file_mac(stream: IO[bytes], key: bytes, length: int) -> str:
    """The HMAC-SHA256 of the first ``length`` bytes of ``stream``, in hex."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    stream.seek(0)
    while length > 0 and (chunk := stream.read(min(CHUNK, length))):
        mac.update(chunk)
        length -= len(chunk)
    return mac.hexdigest()


def sign(path: str, key: bytes) -> None:
    """Write the signature of the bundle at ``path`` over its placeholder (its last bytes)."""
    with open(path, "r+b") as stream:
        length = stream.seek(0, os.SEEK_END) - wire.BUNDLE_SIGNATURE_BYTES
        digest = file_mac(stream, key, length)
        stream.seek(length)
        stream.write(digest.encode("ascii"))


def signed_by(path: str, key: bytes) -> bool:
    """Is the file at ``path`` signed with ``key``, every byte of it?"""
    with open(path, "rb") as stream:
        length = stream.seek(0, os.SEEK_END) - wire.BUNDLE_SIGNATURE_BYTES
        if length <= 0:
            return False
        stream.seek(length)
        stated = stream.read(wire.BUNDLE_SIGNATURE_BYTES)
        return hmac.compare_digest(stated, file_mac(stream, key, length).encode("ascii"))


def check_directory(path: str) -> None:
    """Refuse a zip whose central directory, read from its end record (just before the 64-byte
    signature), names more members or takes more bytes than a bundle may: before zipfile
    reads it all into memory."""
    with open(path, "rb") as stream:
        end = stream.seek(0, os.SEEK_END) - wire.BUNDLE_SIGNATURE_BYTES - END_OF_DIRECTORY.size
        if end < 0:
            raise BundleError("The file is not a bundle (too short).")
        stream.seek(end)
        magic, _disk, _start, _here, members, size, _offset, comment = END_OF_DIRECTORY.unpack(
            stream.read(END_OF_DIRECTORY.size)
        )
        if magic != b"PK\x05\x06" or comment != wire.BUNDLE_SIGNATURE_BYTES:
            raise BundleError("The file is not a bundle (no zip archive with a signature).")
        if members == 0xFFFF or size == 0xFFFFFFFF:  # zip64: its own end record says
            stream.seek(max(end - ZIP64_LOCATOR.size, 0))
            magic, _disk, offset, _disks = ZIP64_LOCATOR.unpack(stream.read(ZIP64_LOCATOR.size))
            if magic != b"PK\x06\x07":
                raise BundleError("The file is not a bundle (a broken zip64 end record).")
            stream.seek(offset)
            record = stream.read(ZIP64_END.size)
            if len(record) != ZIP64_END.size or record[:4] != b"PK\x06\x06":
                raise BundleError("The file is not a bundle (a broken zip64 end record).")
            members, size = ZIP64_END.unpack(record)[7:9]
    if members > MAX_MEMBERS or size > MAX_DIRECTORY_BYTES:
        raise BundleError(
            f"The bundle holds more than {MAX_MEMBERS} members, or a directory over {MAX_DIRECTORY_BYTES} bytes."
        )


class BundleWriter:
    """Writes a bundle to ``stream`` member by member (the archive is never built in memory);
    ``close()`` adds the manifest of hashes and room for the signature (``sign``)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.zip = zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        self.hashes: dict[str, str] = {}

    def add(self, name: str, data: bytes) -> None:
        self.zip.writestr(name, data)
        self.hashes[name] = hashlib.sha256(data).hexdigest()

    def add_json(self, name: str, value: Any) -> None:
        self.add(name, json.dumps(value, sort_keys=True).encode())

    def add_lines(self, name: str, values: Iterable[Any]) -> None:
        self.add(name, b"".join(json.dumps(value, sort_keys=True).encode() + b"\n" for value in values))

    def add_blob(self, sha256: str, source: IO[bytes]) -> None:
        """A file's bytes under their sha256 (once; the name is checked against the bytes)."""
        name = f"blobs/{sha256}"
        if name in self.hashes:
            return
        digest = hashlib.sha256()
        with self.zip.open(name, "w", force_zip64=True) as member:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                member.write(chunk)
        if digest.hexdigest() != sha256:
            raise ValueError(f"A file's bytes do not have the sha256 {sha256} stated for them.")
        self.hashes[name] = sha256

    def close(self) -> None:
        hashes = "".join(f"{digest}  {name}\n" for name, digest in sorted(self.hashes.items())).encode()
        self.zip.writestr(wire.BUNDLE_HASHES, hashes)
        self.zip.comment = b"0" * wire.BUNDLE_SIGNATURE_BYTES
        self.zip.close()


class Bundle:
    """A bundle file, checked: its signature with ``key``, its members, their sizes and sha256."""

    def __init__(self, path: str, key: bytes) -> None:
        if not key:
            raise BundleError("No bundle key is stored for this Remote: a bundle cannot be checked without one.")
        self.path = path
        self.taken_out: dict[str, str] = {}  # sha256 -> the file taken out of the bundle
        self.handed = itertools.count()
        self.lock = threading.Lock()  # the reader threads take files out
        if os.path.getsize(path) > max_bundle_bytes():
            raise BundleError(f"The bundle is larger than {max_bundle_bytes()} bytes.")
        if not signed_by(path, key):
            raise BundleError(
                "The bundle's signature does not match this Remote's bundle key: it was altered, damaged,"
                " not signed, or signed with another key."
            )
        check_directory(path)
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as error:
            raise BundleError(f"The file is not a bundle (no zip archive): {error}") from None
        try:
            self.members = self.checked_members()
            self.manifest = self.checked_manifest()
        except BaseException:
            self.zip.close()
            raise

    def close(self) -> None:
        self.zip.close()
        for path in self.taken_out.values():
            if os.path.exists(path):
                os.unlink(path)

    def checked_members(self) -> dict[str, zipfile.ZipInfo]:
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise BundleError(f"The bundle holds more than {MAX_MEMBERS} members.")
        members: dict[str, zipfile.ZipInfo] = {}
        if sum(info.file_size for info in infos) > MAX_INFLATION * max_bundle_bytes():
            raise BundleError(f"The bundle's members inflate to more than {MAX_INFLATION} times the largest bundle.")
        for info in infos:
            name = info.filename
            if info.compress_type not in COMPRESSIONS:
                raise BundleError(f"The bundle's {name[:100]!r} is compressed in a way bundles are not.")
            allowed = name in RECORDS or name in (wire.BUNDLE_MANIFEST, wire.BUNDLE_HASHES)
            if not allowed and not MEMBER.fullmatch(name):
                raise BundleError(f"The bundle holds a member that is not part of the format: {name[:100]!r}.")
            if name in members:
                raise BundleError(f"The bundle holds {name} twice.")
            members[name] = info
        for name in (wire.BUNDLE_MANIFEST, wire.BUNDLE_HASHES):
            if name not in members:
                raise BundleError(f"The bundle has no {name}.")
        hashes = self.read(wire.BUNDLE_HASHES, MAX_RECORDS_BYTES, members)
        listed: dict[str, str] = {}
        for line in hashes.decode("utf-8", "replace").splitlines():
            digest, _sep, name = line.partition("  ")
            if not SHA256.fullmatch(digest) or name in listed:
                raise BundleError("The bundle's manifest of hashes is malformed.")
            if name.startswith("blobs/") and name != f"blobs/{digest}":
                raise BundleError(f"The bundle's {name[:100]} is not named by its sha256.")
            listed[name] = digest
        unlisted = set(members) - set(listed) - {wire.BUNDLE_HASHES}
        if unlisted or set(listed) - set(members):
            raise BundleError("The bundle's members are not those its manifest of hashes lists: it is damaged.")
        for name, digest in listed.items():
            limit = max_blob_bytes() if name.startswith("blobs/") else MAX_RECORDS_BYTES
            if self.sha256(members[name], limit) != digest:
                raise BundleError(f"The bundle's {name} is not what its manifest of hashes says: it is damaged.")
        return members

    def read(self, name: str, limit: int, members: dict[str, zipfile.ZipInfo] | None = None) -> bytes:
        """A member's bytes, at most ``limit`` of them once inflated."""
        info = (members if members is not None else self.members).get(name)
        if info is None:
            raise BundleError(f"The bundle has no {name}.")
        data = b"".join(self.chunks(info, limit))
        return data

    def chunks(self, info: zipfile.ZipInfo, limit: int) -> Iterator[bytes]:
        if info.file_size > limit:
            raise BundleError(f"The bundle's {info.filename} is larger than {limit} bytes.")
        size = 0
        try:
            with self.zip.open(info) as member:
                while chunk := member.read(CHUNK):
                    size += len(chunk)
                    if size > limit:  # the stated size is the archive's word: the bytes count
                        raise BundleError(f"The bundle's {info.filename} inflates to more than {limit} bytes.")
                    yield chunk
        except (
            zipfile.BadZipFile,
            zlib.error,
            OSError,
            EOFError,
            ValueError,
            NotImplementedError,
            RuntimeError,
        ) as error:
            raise BundleError(f"The bundle's {info.filename} cannot be read (damaged): {error}") from None

    def sha256(self, info: zipfile.ZipInfo, limit: int) -> str:
        digest = hashlib.sha256()
        for chunk in self.chunks(info, limit):
            digest.update(chunk)
        return digest.hexdigest()

    def json(self, name: str, limit: int = MAX_RECORDS_BYTES) -> Any:
        try:
            return json.loads(self.read(name, limit))
        except (ValueError, RecursionError):
            raise BundleError(f"The bundle's {name} is not JSON.") from None

    def lines(self, name: str, most: int) -> Iterator[Any]:
        """The JSON values of a ``.jsonl`` member, one per line, at most ``most`` of them (none
        when the member is absent); read a chunk at a time."""
        if name not in self.members:
            return
        rest = b""
        count = 0
        for chunk in self.chunks(self.members[name], MAX_RECORDS_BYTES):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in (*lines, rest):
                if len(line) > MAX_LINE_BYTES:
                    raise BundleError(f"The bundle's {name} holds a line longer than {MAX_LINE_BYTES} bytes.")
            for line in lines:
                count += 1
                if count > most:
                    raise BundleError(f"The bundle's {name} holds more than {most} entries.")
                try:
                    yield json.loads(line)
                except (ValueError, RecursionError):
                    raise BundleError(f"The bundle's {name} holds a line that is not JSON.") from None
        if rest.strip():
            raise BundleError(f"The bundle's {name} ends in the middle of a line.")

    def checked_manifest(self) -> dict[str, Any]:
        manifest = self.json(wire.BUNDLE_MANIFEST, 64 * 1024)
        if not isinstance(manifest, dict) or manifest.get("format") != wire.BUNDLE_FORMAT:
            raise BundleError(f"The bundle's manifest is not of the format {wire.BUNDLE_FORMAT}.")
        since, head = manifest.get("since"), manifest.get("head")
        for name in ("id", "log", "origin", "site_url"):
            value = manifest.get(name)
            if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
                raise BundleError(f"The bundle's manifest has no {name}.")
        if not isinstance(manifest.get("previous", ""), str) or not re.fullmatch(r"[0-9a-f]{32}", manifest["id"]):
            raise BundleError("The bundle's manifest names no valid id or previous bundle.")
        if type(head) is not int or head < 0 or not (since is None or (type(since) is int and 0 <= since <= head)):
            raise BundleError("The bundle's manifest has no valid range of the change log (since, head).")
        if not manifest["site_url"].startswith(("http://", "https://")):
            raise BundleError("The bundle's manifest names no site URL.")
        if not UID.fullmatch(manifest["origin"]):
            raise BundleError("The bundle's manifest names no site (its UID) it comes from.")
        return manifest

    def blob_to(self, sha256: str, directory: str | None, size: int | None) -> str:
        """The file with that sha256 as a temporary file in ``directory`` (the caller's own: a
        link to the one taken out of the bundle, once, whatever number of objects name it)."""
        name = f"blobs/{sha256}" if isinstance(sha256, str) and SHA256.fullmatch(sha256) else ""
        if name not in self.members:
            raise BundleError(f"The bundle holds no file with the sha256 {sha256!r:.80}.")
        if size is not None and self.members[name].file_size != size:
            raise BundleError(f"The bundle's file {sha256} does not have the size the object states.")
        with self.lock:
            if sha256 not in self.taken_out:
                self.taken_out[sha256] = self.take_out(self.members[name], directory)
            source = self.taken_out[sha256]
            handed = f"{source}.{next(self.handed)}"
            os.link(source, handed)
        return handed

    def take_out(self, info: zipfile.ZipInfo, directory: str | None) -> str:
        with tempfile.NamedTemporaryFile(prefix="sync-bundle-blob-", dir=directory, delete=False) as stream:
            try:
                for chunk in self.chunks(info, max_blob_bytes()):
                    stream.write(chunk)
            except BaseException:
                os.unlink(stream.name)
                raise
        return stream.name


def save_upload(source: IO[bytes], directory: str, limit: int | None = None) -> str:
    """Copy an uploaded bundle into ``directory`` (at most ``limit`` bytes); the file's path."""
    limit = max_bundle_bytes() if limit is None else limit
    os.makedirs(directory, exist_ok=True)
    size = 0
    with tempfile.NamedTemporaryFile(prefix="bundle-", suffix=".zip", dir=directory, delete=False) as stream:
        try:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise BundleError(f"The bundle is larger than {limit} bytes.")
                stream.write(chunk)
        except BaseException:
            os.unlink(stream.name)
            raise
    return stream.name
