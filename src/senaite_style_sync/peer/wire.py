"""The wire format of this add-on's own peer endpoints: what server/ serves and peer/ reads.

``@sync-read?UID=<uid>&UID=<uid>...`` answers ``{"items": [...]}``: each object's JSON as
plone.restapi's ``@search?fullobjects`` gives it, with its review history under
``@components.workflow.history`` and its local roles under SHARING_KEY.
"""

SYNC_READ = "@sync-read"
# The listing with positions and a digest of what re-dates nothing (local roles, layout,
# default page); pages asked for and answered as a keyset @search is.
SYNC_LIST = "@sync-list"
SYNC_LIST_MAX_PAGE = 1000
# The most UIDs one @sync-read request may name.
SYNC_READ_MAX_UIDS = 100
# Where @sync-read puts an object's local roles: ``inherit``, ``entries`` (principal id and the
# roles set on the object, marked true) and ``available_roles``, as @sharing shapes them.
SHARING_KEY = "@sharing"
# The names of the fields @sync-read serves as stored rather than as rendered: rich text with
# its resolveuid links and image scales by name, a Link's ``${portal_url}/resolveuid/<UID>``.
STORED_FIELDS = "@stored-fields"
# field name -> sha256 of the bytes of each file or image: the download must have them.
BLOB_SHA256 = "@blob-sha256"
# The object's current revision (sync/revision.py): ``id``, ``origin`` (the site that made it),
# ``ancestors`` (the revisions it descends from).
REVISION = "@revision"
# The change feed (docs/sync.rst, "Change feed"):
#   GET @sync-changes                          where the log stands: {"log", "head", "floor", ...}
#   GET @sync-changes?since=<seq>&limit=<n>    the entries after ``since`` (at most SYNC_CHANGES_MAX_PAGE);
#                                              410 Gone when the log no longer reaches back to ``since``
#   GET @sync-changes?order=<uid>&order=...    the ids of those folders' children, in order
SYNC_CHANGES = "@sync-changes"
SYNC_CHANGES_MAX_PAGE = 1000
SYNC_CHANGES_MAX_ORDER = 100
# What an entry's ``kinds`` may name.
CHANGE_KINDS = ("create", "edit", "move", "delete", "workflow", "order", "sharing", "default_page", "layout")
