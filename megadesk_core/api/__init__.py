"""The HTTP API (Litestar): agents' sidebar and actions, admins' settings and audit log."""
