"""The host's use cases, independent of HTTP: tenants and tokens, settings, sidebar, actions."""
