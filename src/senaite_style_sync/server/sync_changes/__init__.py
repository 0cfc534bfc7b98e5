"""@sync-changes: the change feed, read from the change log (model/changes.py)."""
