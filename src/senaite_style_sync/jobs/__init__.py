"""Background jobs: each step runs in its own thread with its own ZODB connection."""
