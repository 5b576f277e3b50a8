"""The control API: hosts serve it on a local socket; the CLI and the tray call it."""
