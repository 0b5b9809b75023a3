"""Suite-wide test configuration."""

pytest_plugins = ["pytester"]
