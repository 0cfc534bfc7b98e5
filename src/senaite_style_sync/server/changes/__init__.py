"""The change log's writer: every content change of a transaction, numbered as it commits (model/changes.py)."""
