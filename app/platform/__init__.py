"""Operating-system integrations, one small adapter each."""
