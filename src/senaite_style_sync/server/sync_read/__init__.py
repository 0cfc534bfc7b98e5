"""@sync-read: many objects with review history and local roles in one request."""
