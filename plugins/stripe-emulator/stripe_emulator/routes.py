"""The ``/v1`` route table: path, handler, accepted parameters and required permission."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stripe_emulator.context import Call
from stripe_emulator.keys import Access
from stripe_emulator.params import Obj
from stripe_emulator.services import (
    catalog,
    charges,
    common,
    customers,
    disputes,
    invoices,
    payment_intents,
    payment_methods,
    refunds,
    subscriptions,
)

JsonDict = dict[str, Any]
Handler = Callable[[Call], JsonDict]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    spec: Obj
    resource: str
    access: Access
    pattern: re.Pattern[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template)
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))


def _route(method: str, template: str, handler: Handler, spec: Obj, resource: str) -> Route:
    # Stripe's rule for restricted keys: reads need read, anything else needs write.
    return Route(method, template, handler, spec, resource, "read" if method == "GET" else "write")


ROUTES: tuple[Route, ...] = (
    # Customers (search before {id} so "search" is not taken for an id).
    _route("GET", "/v1/customers/search", customers.search, common.SEARCH, "customers"),
    _route("POST", "/v1/customers", customers.create, customers.CREATE, "customers"),
    _route("GET", "/v1/customers", customers.list_all, customers.LIST, "customers"),
    _route("GET", "/v1/customers/{id}", customers.retrieve, customers.RETRIEVE, "customers"),
    _route("POST", "/v1/customers/{id}", customers.update, customers.UPDATE, "customers"),
    _route("DELETE", "/v1/customers/{id}", customers.delete, customers.DELETE, "customers"),
    _route(
        "GET",
        "/v1/customers/{customer}/payment_methods",
        payment_methods.list_for_customer,
        payment_methods.CUSTOMER_LIST,
        "payment_methods",
    ),
    _route(
        "GET",
        "/v1/customers/{customer}/payment_methods/{id}",
        payment_methods.retrieve_for_customer,
        payment_methods.RETRIEVE,
        "payment_methods",
    ),
    # PaymentMethods
    _route("POST", "/v1/payment_methods", payment_methods.create, payment_methods.CREATE, "payment_methods"),
    _route("GET", "/v1/payment_methods", payment_methods.list_all, payment_methods.LIST, "payment_methods"),
    _route(
        "GET",
        "/v1/payment_methods/{id}",
        payment_methods.retrieve,
        payment_methods.RETRIEVE,
        "payment_methods",
    ),
    _route(
        "POST",
        "/v1/payment_methods/{id}",
        payment_methods.update,
        payment_methods.UPDATE,
        "payment_methods",
    ),
    _route(
        "POST",
        "/v1/payment_methods/{id}/attach",
        payment_methods.attach_endpoint,
        payment_methods.ATTACH,
        "payment_methods",
    ),
    _route(
        "POST",
        "/v1/payment_methods/{id}/detach",
        payment_methods.detach,
        payment_methods.DETACH,
        "payment_methods",
    ),
    # PaymentIntents
    _route(
        "GET",
        "/v1/payment_intents/search",
        payment_intents.search,
        common.SEARCH,
        "payment_intents",
    ),
    _route("POST", "/v1/payment_intents", payment_intents.create, payment_intents.CREATE, "payment_intents"),
    _route("GET", "/v1/payment_intents", payment_intents.list_all, payment_intents.LIST, "payment_intents"),
    _route(
        "GET",
        "/v1/payment_intents/{id}",
        payment_intents.retrieve,
        payment_intents.RETRIEVE,
        "payment_intents",
    ),
    _route(
        "POST",
        "/v1/payment_intents/{id}",
        payment_intents.update,
        payment_intents.UPDATE,
        "payment_intents",
    ),
    _route(
        "POST",
        "/v1/payment_intents/{id}/confirm",
        payment_intents.confirm_endpoint,
        payment_intents.CONFIRM,
        "payment_intents",
    ),
    _route(
        "POST",
        "/v1/payment_intents/{id}/cancel",
        payment_intents.cancel,
        payment_intents.CANCEL,
        "payment_intents",
    ),
    # Charges
    _route("GET", "/v1/charges/search", charges.search, common.SEARCH, "charges"),
    _route("GET", "/v1/charges", charges.list_all, charges.LIST, "charges"),
    _route("GET", "/v1/charges/{id}", charges.retrieve, charges.RETRIEVE, "charges"),
    _route("POST", "/v1/charges/{id}", charges.update, charges.UPDATE, "charges"),
    # Refunds
    _route("POST", "/v1/refunds", refunds.create, refunds.CREATE, "refunds"),
    _route("GET", "/v1/refunds", refunds.list_all, refunds.LIST, "refunds"),
    _route("GET", "/v1/refunds/{id}", refunds.retrieve, refunds.RETRIEVE, "refunds"),
    _route("POST", "/v1/refunds/{id}", refunds.update, refunds.UPDATE, "refunds"),
    # Disputes (read-only; opened through /_emulator)
    _route("GET", "/v1/disputes", disputes.list_all, disputes.LIST, "disputes"),
    _route("GET", "/v1/disputes/{id}", disputes.retrieve, disputes.RETRIEVE, "disputes"),
    # Products and prices
    _route("POST", "/v1/products", catalog.product_create, catalog.PRODUCT_CREATE, "products"),
    _route("GET", "/v1/products", catalog.product_list, catalog.PRODUCT_LIST, "products"),
    _route("GET", "/v1/products/{id}", catalog.product_retrieve, catalog.RETRIEVE, "products"),
    _route("POST", "/v1/products/{id}", catalog.product_update, catalog.PRODUCT_UPDATE, "products"),
    _route("POST", "/v1/prices", catalog.price_create, catalog.PRICE_CREATE, "prices"),
    _route("GET", "/v1/prices", catalog.price_list, catalog.PRICE_LIST, "prices"),
    _route("GET", "/v1/prices/{id}", catalog.price_retrieve, catalog.RETRIEVE, "prices"),
    _route("POST", "/v1/prices/{id}", catalog.price_update, catalog.PRICE_UPDATE, "prices"),
    # Subscriptions
    _route(
        "GET",
        "/v1/subscriptions/search",
        subscriptions.search,
        common.SEARCH,
        "subscriptions",
    ),
    _route("POST", "/v1/subscriptions", subscriptions.create, subscriptions.CREATE, "subscriptions"),
    _route("GET", "/v1/subscriptions", subscriptions.list_all, subscriptions.LIST, "subscriptions"),
    _route(
        "GET",
        "/v1/subscriptions/{id}",
        subscriptions.retrieve,
        subscriptions.RETRIEVE,
        "subscriptions",
    ),
    _route(
        "POST",
        "/v1/subscriptions/{id}",
        subscriptions.update,
        subscriptions.UPDATE,
        "subscriptions",
    ),
    _route(
        "DELETE",
        "/v1/subscriptions/{id}",
        subscriptions.cancel,
        subscriptions.CANCEL,
        "subscriptions",
    ),
    # Invoices and their payments
    _route("GET", "/v1/invoices", invoices.list_all, invoices.LIST, "invoices"),
    _route("GET", "/v1/invoices/{id}", invoices.retrieve, invoices.RETRIEVE, "invoices"),
    _route("GET", "/v1/invoice_payments", invoices.payment_list, invoices.PAYMENTS_LIST, "invoices"),
    _route(
        "GET",
        "/v1/invoice_payments/{id}",
        invoices.payment_retrieve,
        invoices.RETRIEVE,
        "invoices",
    ),
)

# Which permission reading an object of each kind needs (used when expanding).
RESOURCE_OF_KIND: dict[str, str] = {
    "customer": "customers",
    "payment_intent": "payment_intents",
    "charge": "charges",
    "refund": "refunds",
    "dispute": "disputes",
    "subscription": "subscriptions",
    "invoice": "invoices",
    "invoice_payment": "invoices",
    "price": "prices",
    "product": "products",
    "payment_method": "payment_methods",
}


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        if route.method != method:
            continue
        found = route.pattern.match(path)
        if found is not None:
            return route, found.groupdict()
    return None
