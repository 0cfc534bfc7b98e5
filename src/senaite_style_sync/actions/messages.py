"""Messages of the layers below in the user's language: for the pages and the REST services alike.

The model, the peer probe, the job runner, the sync and the importers write plain English
sentences (the validation rules, Test connection's outcome, a refused start, a run's outcome,
its warnings and errors, and a conflict's reason).
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
    _("Give the URL without a username or password; use the Username and Password fields."),
    _("A Remote's Prefix needs at least one Prefixable Content Type."),
    _("Prefixable Content Types need a Remote's Prefix."),
    _("Update-Only Content Types need a Local Prefix."),
    _("No readable file at this path."),
    _("Give the password for this username."),
    _("Give the password again: the Source URL's host changed."),
    _(
        "The Source URL uses http://: the username, the password and the content travel unencrypted "
        "and can be read or changed on the way. Use https://."
    ),
    _("The interval must be a whole number of minutes from 1 to 525600 (a year)."),
    _("Give a whole number from 0 to 100."),
    _("Not an installed content type: ${types}"),
    _("Choose one of: skip, remote, local."),
    _("Registry prefixes need Import Registry."),
    _("Import Registry needs at least one registry prefix."),
    _("A registry prefix is a dotted name: letters, digits, '_', '-' and '.'."),
    _("A bundle key has at least 16 characters."),
    # model/credentials.py
    _("The stored password cannot be decrypted with this instance's key; enter it again."),
    # actions/remotes.py: what only a Manager may do
    _("Only a Manager may allow the Manager role."),
    _("This remote allows the Manager role: only a Manager may change it."),
    # peer/probe.py: Test connection
    _("The peer refused the username or password."),
    _("${url} answered, but is not a Plone site with plone.restapi."),
    _("${url} answered, but is not a Plone site with plone.restapi (${reason})"),
    _("Connected to ${title} without logging in."),
    _("Connected to ${title} and logged in as ${username}."),
    _("TLS failure: the peer's certificate could not be verified (${reason})."),
    _("The peer cannot be reached: ${reason}."),
    _("The connection failed: ${reason}"),
    _("The peer's login gave no token; check that plone.restapi is installed."),
    # services/remotes/post.py and jobs/steps.py: a CA file gone since the remote was saved
    _("The Certificate Path ${path}: ${problem}"),
    # jobs/runner.py: a refused start; jobs/recovery.py: a job its instance left behind
    _("Unknown step ${step}."),
    _("A ${step} job for '${remote}' is still running (${done}/${total})."),
    _("That run holds no ${what} of this remote to act on."),
    _("Those ${what} were acted on already."),
    _("Interrupted: the instance that ran it stopped."),
    # sync/conflicts.py and sync/writer.py: why an object is a conflict
    _("changed here and on the peer"),
    _("deleted on the peer, changed here"),
    _("deleted here, changed on the peer"),
    _("here already: a copy synced from the remote '${remote}'"),
    _("here already, and not one of this site's originals (no Local Prefix)"),
    _("here already, and not synced from this peer: not overwritten without your decision"),
    # sync/writer.py, sync/importing.py, sync/fetch.py: warnings of a run
    _("Its creator '${creator}' is no user of this site: nobody owns the copy here."),
    _("The peer's layout '${layout}' is not one this type offers here: not set."),
    _("Points to objects outside the sync's scope, kept as the peer's: ${paths}"),
    _("Its rich text would run scripts in a browser: stored through the safe-HTML filter (${fields})."),
    _("Still on the peer, but outside this remote's scope now: the copy stays here, no longer synced."),
    _("Deleted on the peer since it was listed: the next run deletes its copy."),
    _("The peer has it again: kept."),
    _("Not in the peer's listing, but the peer still has it: kept."),
    # importers/principals.py, importers/registry.py: what the policies hold back (warnings of a run)
    _("the role '${role}' is not imported: it administers this site"),
    _("members are not added: the group has the role(s) ${roles} here"),
    _("one of this site's own: the role(s) ${roles} the peer gives it are not granted"),
    _("member '${member}': one of this site's own, not added by the peer"),
    _("Never imported (a built-in deny-list; see docs/security.rst): ${records}"),
    # importers/registry_values.py: a record not imported (errors of a run)
    _("the peer lists it without a value"),
    _("the peer's value is larger than ${size} KiB: not taken"),
    # importers/principals_policy.py, importers/principals.py: a principal not imported (errors of a run)
    _("not a valid id here"),
    _("this id is reserved for the sync itself"),
    _("its ${key} is not a line of text"),
    _("its roles are not a list of names"),
    _("its login name is not valid here"),
    _("a group here has this id"),
    _("a user here has this id"),
    _("the login name '${login}' belongs to another user here"),
    _("the role '${role}' does not exist here"),
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
            # A value that is itself a known text is translated too ("The Certificate Path …: ${problem}").
            mapping = {name: _match(value, known) or value for name, value in found.groupdict().items()}
            return Message(msgid, mapping=mapping) if mapping else msgid
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
