"""The shape of the peer's JSON for one object, checked before anything of it is written.

The field writers check the fields; this checks what the writer itself reads (workflow
history, state, dates, layout). A value of the wrong kind is the object's error: an empty
list where an object belongs is as wrong as a string, and is not read as "nothing".
"""

from typing import Any

from senaite_style_sync.sync.placing import ApplyError


TEXTS = ("review_state", "layout", "created", "modified", "effective", "expires")
HISTORY_TEXTS = ("action", "actor", "comments", "review_state")
MAX_HISTORY = 10_000  # entries of a review history; a real one has a few dozen


def kind(value: Any) -> str:
    return type(value).__name__


def check_shape(data: dict[str, Any]) -> None:
    """ApplyError unless the keys the writer reads hold what plone.restapi serves there."""
    for key in TEXTS:
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ApplyError(f"The peer's {key} is a {kind(data[key])}, not a text.")
    components = data.get("@components")
    if components is None:
        return
    if not isinstance(components, dict):
        raise ApplyError(f"The peer's @components is a {kind(components)}, not an object.")
    workflow = components.get("workflow")
    if workflow is None:
        return
    if not isinstance(workflow, dict):
        raise ApplyError(f"The peer's workflow is a {kind(workflow)}, not an object.")
    history = workflow.get("history")
    if history is None:
        return
    if not isinstance(history, list) or len(history) > MAX_HISTORY:
        raise ApplyError(f"The peer's review history is not a list of at most {MAX_HISTORY} entries.")
    for entry in history:
        if not isinstance(entry, dict) or not isinstance(entry.get("time"), str):
            raise ApplyError("An entry of the peer's review history is not an object with a time.")
        for key in HISTORY_TEXTS:
            if entry.get(key) is not None and not isinstance(entry[key], str):
                raise ApplyError(f"The {key} of an entry of the peer's review history is a {kind(entry[key])}.")
