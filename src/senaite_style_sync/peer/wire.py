"""The wire format of this add-on's own peer endpoints: what server/ serves and peer/ reads.

``@sync-read?UID=<uid>&UID=<uid>...`` answers ``{"items": [...]}``: each object's JSON as
plone.restapi's ``@search?fullobjects`` gives it, with its review history under
``@components.workflow.history`` and its local roles under SHARING_KEY.
"""

SYNC_READ = "@sync-read"
# The most UIDs one @sync-read request may name.
SYNC_READ_MAX_UIDS = 100
# Where @sync-read puts an object's local roles: ``inherit``, ``entries`` (principal id and the
# roles set on the object, marked true) and ``available_roles``, as @sharing shapes them.
SHARING_KEY = "@sharing"
