"""Tunnelkeeper: keeps a reverse SSH tunnel to a data vendor's jumphost open."""

__version__ = "0.1.0"
