"""Remote configurations: schema, persistent records, storage, secrets, validation."""
