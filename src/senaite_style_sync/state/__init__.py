"""What a sync remembers per remote: the peer's index, the mapping of synced objects, conflicts."""
