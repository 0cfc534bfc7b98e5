"""The sync engine: scope the peer's listing, plan the changes, apply them locally."""
