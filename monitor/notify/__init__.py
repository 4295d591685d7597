"""Notifications of incidents: rules say what goes to which channel (e-mail, signed webhooks,
Telegram); incident changes wait in an outbox written with them, go out as one digest per rule
and window, and are delivered with retries, once each, by one process of several."""
