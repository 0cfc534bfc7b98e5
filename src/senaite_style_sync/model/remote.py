"""The persistent record of one Remote."""

from datetime import datetime
from typing import Any

from persistent import Persistent
from persistent.mapping import PersistentMapping

from senaite_style_sync.model import credentials
from senaite_style_sync.model.schema import LIST_FIELDS
from senaite_style_sync.model.schema import SETTINGS_FIELDS
from senaite_style_sync.model.schema import TYPE_RULE_FIELDS
from senaite_style_sync.model.schema import IRemote
from senaite_style_sync.model.state import SyncState


class Remote(Persistent):
    """Settings of one peer site, its encrypted password and the outcome of its last runs."""

    # For Remotes stored before these existed.
    max_delete_percent = IRemote["max_delete_percent"].default
    push = False
    _bundle_key_token = b""

    def __init__(self, name: str) -> None:
        for field_name in SETTINGS_FIELDS:
            setattr(self, field_name, IRemote[field_name].default)
        self.name = name
        self._password_token = b""
        self.state = SyncState()
        self.active_job = ""  # id of the latest job started for this remote
        self.last_auto_run: datetime | None = None  # when Auto-Sync last started Get Updates
        self.last_plan: dict[str, int] = {}
        # step name -> {"time": datetime, "outcome": str, "count": int}
        self.last_runs = PersistentMapping()

    def update(self, data: dict[str, Any]) -> None:
        """Set the settings given in ``data``; a non-empty ``password`` replaces the stored one."""
        for field_name in SETTINGS_FIELDS:
            if field_name in data and field_name != "name":
                value = data[field_name]
                if field_name in TYPE_RULE_FIELDS:
                    value = sorted(set(value or ()))
                elif field_name == "registry_prefixes":
                    value = [prefix for prefix in dict.fromkeys(value or ()) if prefix]
                setattr(self, field_name, value)
        if data.get("password"):
            self._password_token = credentials.encrypt(data["password"])
        if data.get("bundle_key"):
            self._bundle_key_token = credentials.encrypt(data["bundle_key"])

    def forget_password(self) -> None:
        self._password_token = b""

    @property
    def has_password(self) -> bool:
        return bool(self._password_token)

    def password(self) -> str:
        """The decrypted password ("" when none is stored)."""
        return credentials.decrypt(self._password_token) if self._password_token else ""

    @property
    def has_bundle_key(self) -> bool:
        return bool(self._bundle_key_token)

    def bundle_key(self) -> bytes:
        """The decrypted bundle key (empty when none is stored)."""
        return credentials.decrypt(self._bundle_key_token).encode() if self._bundle_key_token else b""

    def settings(self) -> dict[str, Any]:
        """Every setting but the secrets, as plain Python values."""
        data = {name: getattr(self, name) for name in SETTINGS_FIELDS}
        for name in LIST_FIELDS:
            data[name] = list(data[name])
        return data

    def record_run(self, step: str, outcome: str, count: int) -> None:
        """Remember the outcome of the latest run of ``step``."""
        self.last_runs[step] = {"time": datetime.now(), "outcome": outcome, "count": count}
