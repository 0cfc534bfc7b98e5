"""Encryption of stored passwords with a key kept outside the ZODB.

The key comes from, in order: the ``SENAITE_STYLE_SYNC_KEY`` environment variable
(a Fernet key); the ``key-file`` of ``<product-config senaite_style_sync>`` in
zope.conf; else ``senaite_style_sync.key`` in the instance's var directory,
generated there (mode 0600) on first use. A copy of Data.fs alone therefore does
not reveal any password.
"""

import os
import threading
from pathlib import Path

from App.config import getConfiguration
from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken

from senaite_style_sync.config import product_config


ENV_KEY = "SENAITE_STYLE_SYNC_KEY"
KEY_FILE_NAME = "senaite_style_sync.key"

_lock = threading.Lock()
_fernets: dict[str, Fernet] = {}


class CredentialError(Exception):
    """A stored password cannot be decrypted with this instance's key."""


def key_file_path() -> Path:
    configured = product_config().get("key-file")
    if configured:
        return Path(configured)
    config = getConfiguration()
    var = getattr(config, "clienthome", None) or os.path.join(config.instancehome, "var")
    return Path(var) / KEY_FILE_NAME


def _read_or_create_key(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        # O_EXCL: when two processes race, the loser reads the winner's key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as stream:
        stream.write(key + b"\n")
    return key


def _fernet() -> Fernet:
    env_key = os.environ.get(ENV_KEY)
    source = f"env:{env_key}" if env_key else f"file:{key_file_path()}"
    with _lock:
        if source not in _fernets:
            key = env_key.encode() if env_key else _read_or_create_key(key_file_path())
            _fernets[source] = Fernet(key)
        return _fernets[source]


def encrypt(secret: str) -> bytes:
    return _fernet().encrypt(secret.encode("utf-8"))


def decrypt(token: bytes) -> str:
    try:
        return _fernet().decrypt(token).decode("utf-8")
    except InvalidToken:
        raise CredentialError(
            "The stored password cannot be decrypted with this instance's key; enter it again."
        ) from None
