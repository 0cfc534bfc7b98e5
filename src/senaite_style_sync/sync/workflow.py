"""Restore the peer's workflow state and review history without running transitions."""

from Acquisition import aq_base
from DateTime import DateTime
from persistent.mapping import PersistentMapping
from Products.CMFCore.utils import getToolByName


class WorkflowError(ValueError):
    """The peer's state does not exist in the local workflow."""


def restore_workflow(obj, review_state: str, history: list[dict]) -> bool:
    """Write the history (its last entry names ``review_state``) and update role mappings.

    Returns whether anything changed. No transition runs, so no transition side effects fire.
    """
    wftool = getToolByName(obj, "portal_workflow")
    chain = wftool.getChainFor(obj)
    if not chain or not review_state:
        return False
    workflow = wftool.getWorkflowById(chain[0])
    if review_state not in workflow.states.objectIds():
        raise WorkflowError(f"State {review_state!r} does not exist in the local workflow {workflow.id!r}.")
    entries = tuple(
        {
            "action": entry.get("action"),
            "actor": entry.get("actor"),
            "comments": entry.get("comments") or "",
            "review_state": entry.get("review_state"),
            "time": DateTime(entry["time"]),
        }
        for entry in history
        if entry.get("review_state") and entry.get("time")
    )
    if not entries or entries[-1]["review_state"] != review_state:
        entries += ({"action": None, "actor": None, "comments": "", "review_state": review_state, "time": DateTime()},)
    base = aq_base(obj)  # never the container's history, acquired
    if getattr(base, "workflow_history", None) is None:
        base.workflow_history = PersistentMapping()
    if base.workflow_history.get(workflow.id) == entries:
        return False
    base.workflow_history[workflow.id] = entries
    workflow.updateRoleMappingsFor(obj)
    return True
