"""The services layer (``api.Services``): the jobs every front end asks for, as plain data."""
