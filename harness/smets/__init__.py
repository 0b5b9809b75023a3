"""SMETS2 domain model: pure, on an injected clock."""
