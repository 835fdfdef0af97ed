"""Stable fingerprints of request and render state (idempotency records, panel cache keys)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint(*parts: Any) -> str:
    """SHA-256 (hex) of ``parts`` as canonical JSON: equal for equal values, dict order aside."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
