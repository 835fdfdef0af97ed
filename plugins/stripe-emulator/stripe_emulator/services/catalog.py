"""Products and Prices."""

from __future__ import annotations

from typing import Any

from stripe_emulator import objects
from stripe_emulator.context import Call
from stripe_emulator.errors import invalid_request, missing_parameter
from stripe_emulator.pagination import list_object
from stripe_emulator.params import BOOL, INT, LIST_PARAMS, METADATA, STR, Choice, Obj
from stripe_emulator.services.common import apply_metadata
from stripe_emulator.services.payment_intents import check_currency
from stripe_emulator.store import Store

JsonDict = dict[str, Any]

PRODUCT_CREATE = Obj({"name": STR, "description": STR, "metadata": METADATA, "active": BOOL, "id": STR})
PRODUCT_UPDATE = Obj({"name": STR, "description": STR, "metadata": METADATA, "active": BOOL})
PRODUCT_LIST = Obj({**LIST_PARAMS, "active": BOOL})
RETRIEVE = Obj()

_RECURRING = Obj(
    {
        "interval": Choice(("day", "week", "month", "year")),
        "interval_count": INT,
        "usage_type": Choice(("licensed",)),
    }
)
PRICE_CREATE = Obj(
    {
        "product": STR,
        "product_data": Obj({"name": STR, "metadata": METADATA}),
        "unit_amount": INT,
        "currency": STR,
        "recurring": _RECURRING,
        "nickname": STR,
        "metadata": METADATA,
        "lookup_key": STR,
        "active": BOOL,
    }
)
PRICE_UPDATE = Obj({"nickname": STR, "metadata": METADATA, "active": BOOL, "lookup_key": STR})
PRICE_LIST = Obj(
    {
        **LIST_PARAMS,
        "product": STR,
        "active": BOOL,
        "currency": STR,
        "type": Choice(("one_time", "recurring")),
    }
)


def create_product(
    store: Store,
    *,
    at: int,
    name: str,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
) -> JsonDict:
    return store.add(objects.product(created=at, name=name, description=description, metadata=metadata))


def product_create(call: Call) -> JsonDict:
    params = call.params
    if params.get("name") is None:
        raise missing_parameter("name")
    if params.get("id") is not None:
        raise invalid_request("The emulator chooses product ids itself.", param="id")
    product = create_product(
        call.store,
        at=call.at,
        name=params["name"],
        description=params.get("description"),
        metadata=params.get("metadata"),
    )
    if params.get("active") is not None:
        product["active"] = params["active"]
    return product


def product_retrieve(call: Call) -> JsonDict:
    return call.store.require("product", call.arg("id"))


def product_update(call: Call) -> JsonDict:
    product = call.store.require("product", call.arg("id"))
    for key in ("name", "description", "active"):
        if key in call.params:
            product[key] = call.params[key]
    apply_metadata(product, call.params.get("metadata"), "metadata" in call.params)
    product["updated"] = call.at
    return product


def product_list(call: Call) -> JsonDict:
    items = call.store.all("product")
    if call.params.get("active") is not None:
        items = [p for p in items if p["active"] == call.params["active"]]
    return list_object(call.store, "product", items, call.params, "/v1/products")


def create_price(
    store: Store,
    *,
    at: int,
    product: str,
    unit_amount: int,
    currency: str,
    interval: str | None = None,
    interval_count: int = 1,
    nickname: str | None = None,
    metadata: dict[str, str] | None = None,
    lookup_key: str | None = None,
) -> JsonDict:
    store.require("product", product, "product")
    recurring = {"interval": interval, "interval_count": interval_count} if interval else None
    return store.add(
        objects.price(
            created=at,
            product=product,
            unit_amount=unit_amount,
            currency=check_currency(currency),
            recurring=recurring,
            nickname=nickname,
            metadata=metadata,
            lookup_key=lookup_key,
        )
    )


def price_create(call: Call) -> JsonDict:
    params = call.params
    if params.get("currency") is None:
        raise missing_parameter("currency")
    if params.get("unit_amount") is None:
        raise missing_parameter("unit_amount")
    if params["unit_amount"] < 0:
        raise invalid_request("Invalid non-negative integer", code="parameter_invalid_integer", param="unit_amount")
    product_id, product_data = params.get("product"), params.get("product_data")
    if (product_id is None) == (product_data is None):
        raise invalid_request(
            "You must specify either `product` or `product_data` when creating a price, but not both.",
            param="product",
        )
    recurring = params.get("recurring")
    if recurring is not None and recurring.get("interval") is None:
        raise missing_parameter("recurring[interval]")
    lookup_key = params.get("lookup_key")
    if lookup_key is not None and any(p.get("lookup_key") == lookup_key for p in call.store.all("price")):
        raise invalid_request(f"A price (`{lookup_key}`) already uses that lookup key.", param="lookup_key")
    check_currency(params["currency"])
    if product_data is not None:
        if product_data.get("name") is None:
            raise missing_parameter("product_data[name]")
        product_id = create_product(
            call.store, at=call.at, name=product_data["name"], metadata=product_data.get("metadata")
        )["id"]
    assert product_id is not None
    price = create_price(
        call.store,
        at=call.at,
        product=product_id,
        unit_amount=params["unit_amount"],
        currency=params["currency"],
        interval=recurring["interval"] if recurring else None,
        interval_count=(recurring or {}).get("interval_count") or 1,
        nickname=params.get("nickname"),
        metadata=params.get("metadata"),
        lookup_key=lookup_key,
    )
    if params.get("active") is not None:
        price["active"] = params["active"]
    return price


def price_retrieve(call: Call) -> JsonDict:
    return call.store.require("price", call.arg("id"))


def price_update(call: Call) -> JsonDict:
    price = call.store.require("price", call.arg("id"))
    for key in ("nickname", "active", "lookup_key"):
        if key in call.params:
            price[key] = call.params[key]
    apply_metadata(price, call.params.get("metadata"), "metadata" in call.params)
    return price


def price_list(call: Call) -> JsonDict:
    items = call.store.all("price")
    for key in ("product", "active", "currency", "type"):
        wanted = call.params.get(key)
        if wanted is not None:
            items = [p for p in items if p.get(key) == wanted]
    return list_object(call.store, "price", items, call.params, "/v1/prices")
