"""Notification channels: email (SMTP), a JSON webhook, Slack's incoming webhooks."""
