"""API keys: the constant full test key, restricted keys and their permissions."""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from stripe_emulator.errors import StripeError, authentication, permission
from stripe_emulator.ids import random_string

FULL_SECRET_KEY = "sk_test_emulator"
"""The one full-access secret key every emulator accepts."""

ACCOUNT_ID = "acct_1EmuLat0rTestAcct"

Access = Literal["none", "read", "write"]

# Resource name (as used in the permission map) -> the noun Stripe uses in ``rak_*``
# permission names. Prices share Stripe's "plan" permission.
RESOURCES: dict[str, str] = {
    "customers": "customer",
    "payment_intents": "payment_intent",
    "charges": "charge",
    "refunds": "refund",
    "disputes": "dispute",
    "subscriptions": "subscription",
    "invoices": "invoice",
    "products": "product",
    "prices": "plan",
    "payment_methods": "payment_method",
}
_LEVEL: dict[str, int] = {"none": 0, "read": 1, "write": 2}

_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/."
)


def mask(key: str) -> str:
    """``rk_test_***abcd``: enough to recognise a key, never enough to use it."""
    prefix, _, rest = key.partition("_")
    mode, _, secret = rest.partition("_")
    head = f"{prefix}_{mode}_" if secret else f"{prefix}_"
    return f"{head}***{key[-4:]}"


@dataclass(frozen=True)
class ApiKey:
    key: str
    restricted: bool = False
    permissions: Mapping[str, Access] = field(default_factory=dict)

    def allows(self, resource: str, access: Access) -> bool:
        if not self.restricted:
            return True
        granted = self.permissions.get(resource, "none")
        return _LEVEL[granted] >= _LEVEL[access]


def _normalise(permissions: Mapping[str, str]) -> dict[str, Access]:
    result: dict[str, Access] = {}
    for resource, level in permissions.items():
        if resource not in RESOURCES:
            raise ValueError(f"unknown resource {resource!r}; expected one of {', '.join(RESOURCES)}")
        if level not in _LEVEL:
            raise ValueError(f"permission for {resource!r} must be none, read or write")
        result[resource] = cast(Access, level)
    return result


def _key_from_header(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        # ``curl -u sk_test_emulator:`` sends the key as the Basic-auth user name.
        try:
            decoded = base64.b64decode(value).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0] or None
    return None


class KeyRing:
    """Known keys. Guarded by the store's lock (passed in) so there is one lock in all."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._keys: dict[str, ApiKey] = {}
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._keys = {FULL_SECRET_KEY: ApiKey(FULL_SECRET_KEY)}

    def create_restricted_key(self, permissions: Mapping[str, str]) -> str:
        granted = _normalise(permissions)
        key = "rk_test_" + random_string(32)
        with self._lock:
            self._keys[key] = ApiKey(key, restricted=True, permissions=granted)
        return key

    def describe(self) -> list[dict[str, object]]:
        with self._lock:
            return [
                {"key": mask(k.key), "restricted": k.restricted, "permissions": dict(k.permissions)}
                for k in self._keys.values()
            ]

    def authenticate(self, authorization: str | None) -> ApiKey:
        key = _key_from_header(authorization)
        if key is None:
            raise authentication(_NO_KEY)
        if "live" in key:
            raise authentication(
                f"Invalid API Key provided: {mask(key)}. The Stripe emulator only runs in "
                f"test mode and refuses live keys; use {FULL_SECRET_KEY} or a restricted "
                "rk_test_ key it created."
            )
        with self._lock:
            found = self._keys.get(key)
        if found is None:
            raise authentication(f"Invalid API Key provided: {mask(key)}")
        return found

    @staticmethod
    def authorize(api_key: ApiKey, resource: str, access: Access) -> None:
        if api_key.allows(resource, access):
            return
        raise permission_denied(api_key, resource, access)


def permission_denied(api_key: ApiKey, resource: str, access: Access) -> StripeError:
    needed = f"rak_{RESOURCES[resource]}_{access}"
    return permission(
        f"The provided key '{mask(api_key.key)}' does not have the required permissions for "
        f"this endpoint on account '{ACCOUNT_ID}'. Having the '{needed}' permission would "
        "allow this request to continue."
    )
