"""Bounds that request parameters share with the database columns they end up in."""

from __future__ import annotations

MAX_ROW_ID = 2**31 - 1
"""Row ids are ``INTEGER`` columns: 32-bit on PostgreSQL, where a larger value in a query is an
error (a 500), not an empty result."""
