"""Options beyond content (registry, settings, users), as named IImporter utilities run by name."""
