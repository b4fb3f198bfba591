"""The SDK's version: the package's (pyproject.toml reads it from here) and the User-Agent's."""

__version__ = "0.2.0"
