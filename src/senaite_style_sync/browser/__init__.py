"""Classic-UI views: the Sync page, the Remote forms, delete confirmation, step buttons."""
