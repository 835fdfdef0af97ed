"""A sibling integration used by the host's tests: a panel, an action, a secret setting."""
