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
# Offline bundles (docs/bundles.rst): one zip file of what a pull would read, signed.
#   manifest.json          {"format", "id", "previous", "origin", "site_url", "log", "since", "head", "created"}
#                          ``since`` null: everything (a listing); a number: the change feed's entries after it
#   site.json              what GET on the site answers ({"@id", "UID"})
#   listing.jsonl          @sync-list items, one per line (everything only)
#   default_pages.json     UIDs of the default pages (everything only)
#   changes.jsonl          @sync-changes entries after ``since``, one per line (changes only)
#   lookup.jsonl           @sync-list items of the objects and folders a lookup may ask for
#   orders.json            folder UID -> the ids of its children, in order
#   objects/<uid>.json     what @sync-read serves of the object
#   blobs/<sha256>         the bytes of a file or image, once per sha256
#   manifest-sha256.txt    "<sha256>  <member>" per member above (BagIt's manifest)
# The zip's comment, the file's last 64 bytes, is its signature: the HMAC-SHA256, in hex, of every
# byte before it, with the key both sites share. Any byte altered anywhere, and the file is refused.
#   GET  @sync-bundle/<remote>   the receiver's checkpoint for that Remote: {"log", "seq", "bundle"}
#   POST @sync-bundle/<remote>   a bundle (the zip as the body), applied as that Remote's import
BUNDLE_FORMAT = "senaite_style_sync-bundle/1"
SYNC_BUNDLE = "@sync-bundle"
BUNDLE_MANIFEST = "manifest.json"
BUNDLE_HASHES = "manifest-sha256.txt"
BUNDLE_SIGNATURE_BYTES = 64
