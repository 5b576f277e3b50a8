"""Settings → Alerts: the rules listed, Add webhook… / Add email… forms, Remove, Send test."""

from app.ui.alerts.dialog import AlertsDialog

__all__ = ["AlertsDialog"]
