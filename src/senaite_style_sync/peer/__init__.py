"""Talking to a peer: one HTTP session, the readers of each kind of peer, the wire format shared with server/."""
