"""Talking to peer sites: HTTP sessions bound to the peer's origin, and connection checks."""
