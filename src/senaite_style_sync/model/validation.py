"""Checks shared by the Remote form and the REST services: one set of rules, one set of messages."""

import os
import re
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from senaite_style_sync.model.schema import CONFLICT_POLICIES
from senaite_style_sync.model.schema import TYPE_RULE_FIELDS


# Matched with fullmatch: "$" alone would let a trailing newline through.
IDENTIFIER = re.compile(r"[A-Za-z0-9_-]+")
REGISTRY_PREFIX = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?")
# A year: a bigger interval overflows the date arithmetic of the schedule.
MAX_INTERVAL = 525600

MISSING = "Required input is missing."
BAD_IDENTIFIER = "Only letters, digits, '-' and '_' are allowed."
DUPLICATE_NAME = "A remote with this Domain Name already exists."
BAD_URL = "Give an http:// or https:// URL with a host name."
URL_WITH_CREDENTIALS = "Give the URL without a username or password; use the Username and Password fields."
PREFIX_WITHOUT_TYPES = "A Remote's Prefix needs at least one Prefixable Content Type."
TYPES_WITHOUT_PREFIX = "Prefixable Content Types need a Remote's Prefix."
UPDATE_ONLY_WITHOUT_LOCAL_PREFIX = "Update-Only Content Types need a Local Prefix."
UNREADABLE_CERTIFICATE = "No readable file at this path."
PASSWORD_MISSING = "Give the password for this username."
PASSWORD_AGAIN = "Give the password again: the Source URL's host changed."
CLEARTEXT = (
    "The Source URL uses http://: the username, the password and the content travel unencrypted "
    "and can be read or changed on the way. Use https://."
)
BAD_INTERVAL = f"The interval must be a whole number of minutes from 1 to {MAX_INTERVAL} (a year)."
BAD_PERCENT = "Give a whole number from 0 to 100."
UNKNOWN_TYPE = "Not an installed content type: {}"
BAD_POLICY = "Choose one of: skip, remote, local."
PREFIXES_WITHOUT_REGISTRY = "Registry prefixes need Import Registry."
REGISTRY_WITHOUT_PREFIXES = "Import Registry needs at least one registry prefix."
BAD_REGISTRY_PREFIX = "A registry prefix is a dotted name: letters, digits, '_', '-' and '.'."
SHORT_BUNDLE_KEY = "A bundle key has at least 16 characters."
MIN_BUNDLE_KEY = 16


def url_error(url: str) -> str | None:
    if not url:
        return MISSING
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 -- raises ValueError for a port that is no number or out of range
    except ValueError:
        return BAD_URL
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return BAD_URL
    if "@" in parts.netloc:
        return URL_WITH_CREDENTIALS
    return None


def cleartext_warning(url: str) -> str | None:
    """A warning for a peer that is read without TLS."""
    return CLEARTEXT if url.lower().startswith("http://") else None


def certificate_error(path: str) -> str | None:
    if path and not (os.path.isfile(path) and os.access(path, os.R_OK)):
        return UNREADABLE_CERTIFICATE
    return None


def validate_remote(
    data: dict[str, Any],
    *,
    is_new: bool,
    taken_names: Collection[str],
    installed_types: Collection[str],
    has_stored_password: bool = False,
) -> dict[str, str]:
    """Return {field name: message} for every problem in the complete settings ``data``."""
    errors = connection_errors(data, is_new, taken_names, has_stored_password)
    errors.update(rule_errors(data, installed_types))
    errors.update(option_errors(data))
    return errors


def connection_errors(
    data: dict[str, Any], is_new: bool, taken_names: Collection[str], has_stored_password: bool
) -> dict[str, str]:
    errors: dict[str, str] = {}
    name = data.get("name") or ""
    if not name:
        errors["name"] = MISSING
    elif not IDENTIFIER.fullmatch(name):
        errors["name"] = BAD_IDENTIFIER
    elif is_new and name in taken_names:
        errors["name"] = DUPLICATE_NAME

    if message := url_error(data.get("url") or ""):
        errors["url"] = message
    if message := certificate_error(data.get("certificate_path") or ""):
        errors["certificate_path"] = message
    if data.get("username") and not (data.get("password") or has_stored_password):
        errors["password"] = PASSWORD_MISSING
    return errors


def rule_errors(data: dict[str, Any], installed_types: Collection[str]) -> dict[str, str]:
    """Prefixes and type rules."""
    errors: dict[str, str] = {}
    for field_name in ("remote_prefix", "local_prefix"):
        value = data.get(field_name) or ""
        if value and not IDENTIFIER.fullmatch(value):
            errors[field_name] = BAD_IDENTIFIER
    for field_name in TYPE_RULE_FIELDS:
        unknown = [t for t in data.get(field_name) or () if t not in installed_types]
        if unknown:
            errors[field_name] = UNKNOWN_TYPE.format(", ".join(unknown))

    prefixable = data.get("prefixable_types") or ()
    if prefixable and not data.get("remote_prefix"):
        errors.setdefault("remote_prefix", TYPES_WITHOUT_PREFIX)
    if data.get("remote_prefix") and not prefixable:
        errors.setdefault("prefixable_types", PREFIX_WITHOUT_TYPES)
    if data.get("update_only_types") and not data.get("local_prefix"):
        errors.setdefault("local_prefix", UPDATE_ONLY_WITHOUT_LOCAL_PREFIX)
    return errors


def option_errors(data: dict[str, Any]) -> dict[str, str]:
    """Import options, conflict policy, deletion limit, Auto-Sync."""
    errors: dict[str, str] = {}
    prefixes = data.get("registry_prefixes") or ()
    if any(not REGISTRY_PREFIX.fullmatch(prefix or "") for prefix in prefixes):
        errors["registry_prefixes"] = BAD_REGISTRY_PREFIX
    elif prefixes and not data.get("import_registry"):
        errors["registry_prefixes"] = PREFIXES_WITHOUT_REGISTRY
    elif data.get("import_registry") and not prefixes:
        errors["registry_prefixes"] = REGISTRY_WITHOUT_PREFIXES
    if data.get("conflict_policy") not in CONFLICT_POLICIES:
        errors["conflict_policy"] = BAD_POLICY
    interval = data.get("auto_sync_interval")
    if isinstance(interval, bool) or not isinstance(interval, int) or not 1 <= interval <= MAX_INTERVAL:
        errors["auto_sync_interval"] = BAD_INTERVAL
    if data.get("bundle_key") and len(data["bundle_key"]) < MIN_BUNDLE_KEY:
        errors["bundle_key"] = SHORT_BUNDLE_KEY
    percent = data.get("max_delete_percent")
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        errors["max_delete_percent"] = BAD_PERCENT
    return errors
