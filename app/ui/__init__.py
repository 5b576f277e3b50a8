"""The desktop app (Qt): tray, wizard and status window over the same engine as the CLI."""
