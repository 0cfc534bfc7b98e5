"""Permission names, as registered in permissions.zcml."""

MANAGE_REMOTES = "senaite_style_sync: Manage remotes"
