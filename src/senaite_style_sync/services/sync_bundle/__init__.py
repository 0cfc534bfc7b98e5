"""@sync-bundle: a sender that cannot be reached pushes its bundles here."""
