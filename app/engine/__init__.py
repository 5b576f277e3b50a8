"""The tunnel engine: the supervisor, forwarded connections, their loops, checks."""
