"""The package version; generated from VERSION by `make gen`."""

__version__ = "0.1.0"
