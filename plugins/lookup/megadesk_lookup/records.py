"""The tenant's customer JSON, read generically: any top-level scalar is a field to show.

A customer is a JSON object with an ``id`` (string or integer). ``url`` (a link to the record
in the tenant's own tool) and ``orders`` (a list of objects, newest first) are optional and
shown specially; every other top-level string, number, boolean or null is a field. Nested
objects and other lists are left out: there is no generic way to show them well.
"""

from __future__ import annotations

from dataclasses import dataclass

from megadesk_core.errors import IntegrationError

Scalar = str | int | float | bool | None

MAX_ID_LENGTH = 255
_LABEL_FIELDS = ("name", "full_name", "display_name", "company", "email")


class InvalidResponseError(IntegrationError):
    """The customer API answered, but not with the JSON this integration expects."""

    status = 502
    code = "invalid_response"


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def record_id(value: object) -> str | None:
    """``value`` as a record id, or ``None`` when it cannot be one."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if 0 < len(text) <= MAX_ID_LENGTH else None


def web_link(value: object) -> str | None:
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return value
    return None


@dataclass(frozen=True)
class Order:
    id: str
    fields: dict[str, Scalar]
    url: str | None = None


@dataclass(frozen=True)
class CustomerRecord:
    id: str
    fields: dict[str, Scalar]
    url: str | None = None
    orders: tuple[Order, ...] | None = None
    """``None`` when the API sent no ``orders`` key (no table), empty when it sent ``[]``."""

    @property
    def label(self) -> str:
        for name in _LABEL_FIELDS:
            value = self.fields.get(name)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return self.id


def _invalid(what: str) -> InvalidResponseError:
    return InvalidResponseError(
        f"The customer API sent {what}. Check that base_url points at an API that follows the "
        "Customer lookup format (see the integration's README)."
    )


def _order(raw: object, index: int) -> Order:
    if not isinstance(raw, dict):
        raise _invalid(f"an order that is not a JSON object (orders[{index}])")
    order_id = record_id(raw.get("id")) or str(index + 1)
    fields = {k: v for k, v in raw.items() if k not in ("id", "url") and _is_scalar(v)}
    return Order(id=order_id, fields=fields, url=web_link(raw.get("url")))


def parse_customer(raw: object) -> CustomerRecord:
    if not isinstance(raw, dict):
        raise _invalid("a customer that is not a JSON object")
    customer_id = record_id(raw.get("id"))
    if customer_id is None:
        raise _invalid("a customer without an id")
    orders_raw = raw.get("orders")
    orders: tuple[Order, ...] | None = None
    if orders_raw is not None:
        if not isinstance(orders_raw, list):
            raise _invalid("'orders' that is not a list")
        orders = tuple(_order(item, i) for i, item in enumerate(orders_raw))
    fields = {k: v for k, v in raw.items() if k not in ("id", "url", "orders") and _is_scalar(v)}
    return CustomerRecord(id=customer_id, fields=fields, url=web_link(raw.get("url")), orders=orders)


def parse_search(raw: object) -> list[CustomerRecord]:
    if not isinstance(raw, dict) or not isinstance(raw.get("customers"), list):
        raise _invalid('a search result that is not {"customers": [...]}')
    return [parse_customer(item) for item in raw["customers"]]
