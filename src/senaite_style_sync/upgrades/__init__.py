"""GenericSetup upgrade steps, one registration per profile version."""
