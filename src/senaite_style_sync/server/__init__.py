"""What a peer serves to syncing sites; its own ZCML, so a site that only serves can enable just this."""
