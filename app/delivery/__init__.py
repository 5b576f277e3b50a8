"""Sending alerts out: one module per kind of receiver (a webhook over HTTP(S), email over SMTP)."""
