"""Messages of the layers below in the user's language: for the pages and the REST services alike.

The model, the peer probe and the job runner write plain English sentences (the validation
rules, Test connection's outcome, a refused start, a run's outcome and a conflict's reason).
Each is listed here once as a translatable message whose ``${placeholders}`` stand for what
varies; ``message`` finds the one an English text was made from and gives it with its values,
so the page or the REST reply shows it translated. A text none matches is shown as it is.
"""

import re
from functools import cache

from zope.i18n import translate
from zope.i18nmessageid import Message

from senaite_style_sync import _


KNOWN = (
    # model/validation.py
    _("Required input is missing."),
    _("Only letters, digits, '-' and '_' are allowed."),
    _("A remote with this Domain Name already exists."),
    _("Give an http:// or https:// URL with a host name."),
    _("A Remote's Prefix needs at least one Prefixable Content Type."),
    _("Prefixable Content Types need a Remote's Prefix."),
    _("Update-Only Content Types need a Local Prefix."),
    _("No readable file at this path."),
    _("Give the password for this username."),
    _("The interval must be a whole number of minutes, at least 1."),
    _("Give a whole number from 0 to 100."),
    _("Not an installed content type: ${types}"),
    _("Choose one of: skip, remote, local."),
    _("Registry prefixes need Import Registry."),
    _("Import Registry needs at least one registry prefix."),
    _("A registry prefix is a dotted name: letters, digits, '_', '-' and '.'."),
    # model/credentials.py
    _("The stored password cannot be decrypted with this instance's key; enter it again."),
    # peer/probe.py: Test connection
    _("The peer refused the username or password."),
    _("${url} answered (HTTP ${status}) but is not a Plone site with plone.restapi."),
    _("Connected to ${title} without logging in."),
    _("Connected to ${title} and logged in as ${username}."),
    _("TLS failure: the peer's certificate could not be verified (${reason})."),
    _("The peer cannot be reached: ${reason}."),
    _("The connection failed: ${reason}."),
    _("The peer's login service answered HTTP ${status}; check that plone.restapi is installed."),
    # jobs/runner.py: a refused start
    _("Unknown step ${step}."),
    _("A ${step} job for '${remote}' is still running (${done}/${total})."),
    _("That run holds no ${what} of this remote to act on."),
    _("Those ${what} were acted on already."),
    # sync/conflicts.py: why an object is a conflict
    _("changed here and on the peer"),
    _("deleted on the peer, changed here"),
)
# jobs/steps.py: a run's outcome is these parts joined by ", ".
OUTCOME_PARTS = (
    _("${count} objects in scope"),
    _("${count} created"),
    _("${count} updated"),
    _("${count} moved"),
    _("${count} deleted"),
    _("${count} conflicts"),
    _("${count} records"),
    _("${count} users"),
    _("${count} groups"),
    _("${count} differences"),
    _("${count} errors"),
    _("${count} warnings"),
    _("${count} deletions wait for confirmation"),
    _("nothing to do"),
)
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


@cache
def _pattern(msgid: str) -> re.Pattern:
    """A regular expression matching the English text made from ``msgid``, one group per placeholder."""
    parts = PLACEHOLDER.split(msgid)
    regex = "".join(f"(?P<{part}>.+?)" if index % 2 else re.escape(part) for index, part in enumerate(parts))
    return re.compile(regex, re.DOTALL)


def _match(text: str, known: tuple[Message, ...]) -> Message | None:
    for msgid in known:
        found = _pattern(str(msgid)).fullmatch(text)
        if found:
            return Message(msgid, mapping=found.groupdict()) if found.groupdict() else msgid
    return None


def message(text: str) -> str:
    """The translatable message ``text`` was made from, with its values; ``text`` itself if none."""
    if isinstance(text, Message) or not isinstance(text, str):
        return text
    return _match(text, KNOWN) or text


def outcome(text: str, request) -> str:
    """A run's outcome ("6 created, 2 errors") in the request's language, part by part."""
    parts = [_match(part, OUTCOME_PARTS) for part in text.split(", ")] if text else []
    if not parts or None in parts:
        return translated(text, request)
    return ", ".join(translate(part, context=request) for part in parts)


def translated(text: str, request) -> str:
    """``text`` (a message or English) in the request's language: for JSON replies."""
    return translate(message(text), context=request)
