"""Every on-disk location and file the app keeps: paths, profiles, state, logs."""
