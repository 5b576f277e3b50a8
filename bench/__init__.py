"""Benchmarks of Tunnelkeeper against OpenSSH's own ssh -R."""
