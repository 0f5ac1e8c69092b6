"""The installed version of bastion."""

__version__ = "0.1.0"
