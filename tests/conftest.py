"""Suite-wide test configuration."""
