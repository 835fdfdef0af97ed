"""The ``check_settings`` hook's work: is the key well-formed, and what may it do?

Read permissions are probed with harmless list calls (one object each). Write permissions
cannot be probed without changing something in Stripe, so the admin is told that instead.
"""

from __future__ import annotations

import asyncio
import contextlib

from megadesk_core.errors import AuthenticationFailedError, IntegrationError, InvalidInputError
from megadesk_core.types import SettingsCheck, UnavailableFeature
from megadesk_stripe.catalog import ProductNames
from megadesk_stripe.gateway import StripeGateway
from megadesk_stripe.permissions import (
    CUSTOMERS_READ,
    FEATURES,
    KEY_FORM_HELP,
    REQUIRED_PERMISSIONS,
    WRITE_PERMISSIONS,
    Permission,
    key_kind,
    with_dependents,
)

KEY_FIELD = "restricted_key"
READ_PERMISSIONS: tuple[Permission, ...] = tuple(p for p in REQUIRED_PERMISSIONS if p not in WRITE_PERMISSIONS)

FULL_KEY_WARNING = (
    "This is a full secret key (sk_...): it can do anything in your Stripe account, far more than "
    "this integration needs. Create a restricted key with only the permissions the integration "
    "lists and use it instead."
)
TEST_KEY_WARNING = "This is a test-mode key: the sidebar shows Stripe test data, not your live customers."
WRITE_WARNING = (
    "Write permissions ({}) cannot be checked without changing something in Stripe. If the key "
    "lacks one, the refund or cancel action fails with an error naming it."
)


def check_key_form(key: str) -> tuple[str, str]:
    """``(kind, mode)`` of a well-formed key, e.g. ``("rk", "live")``; raises with help, never
    echoing the key."""
    kind = key_kind(key)
    if kind is None:
        raise InvalidInputError(f"That is not a Stripe secret or restricted key. {KEY_FORM_HELP}", field=KEY_FIELD)
    return kind


async def probe_key(gateway: StripeGateway, kind: str, mode: str) -> SettingsCheck:
    """What the key may read, as unavailable features. Raises ``AuthenticationFailedError`` if
    Stripe rejects the key."""
    # One call first: a rejected key then fails once, not once per permission.
    try:
        allowed = {CUSTOMERS_READ.code: await gateway.can(CUSTOMERS_READ)}
    except AuthenticationFailedError as exc:
        raise AuthenticationFailedError(exc.message, field=KEY_FIELD) from exc
    others = [p for p in READ_PERMISSIONS if p is not CUSTOMERS_READ]
    allowed.update(zip((p.code for p in others), await asyncio.gather(*(gateway.can(p) for p in others)), strict=True))
    unavailable: dict[str, str] = {}
    for feature in FEATURES:
        missing = [p for p in feature.permissions if not allowed.get(p.code, True)]
        if missing:
            unavailable[feature.name] = "the key lacks " + ", ".join(f"{p.label} ({p.code})" for p in missing)
    warnings = []
    if kind == "sk":
        warnings.append(FULL_KEY_WARNING)
    else:
        warnings.append(WRITE_WARNING.format(", ".join(p.label for p in WRITE_PERMISSIONS)))
    if mode == "test":
        warnings.append(TEST_KEY_WARNING)
    return SettingsCheck(
        warnings=warnings,
        unavailable_features=[UnavailableFeature(feature=f, reason=r) for f, r in with_dependents(unavailable).items()],
    )


async def keep_product_names(gateway: StripeGateway, check: SettingsCheck, names: ProductNames, account: str) -> None:
    """List the products while the admin saves the key, so the first panels need not."""
    if check.unavailable_reason("product_names") is not None:
        return
    # If Stripe fails now, the first render lists them instead: saving must not fail for it.
    with contextlib.suppress(IntegrationError):
        names.store(account, await gateway.product_names())
