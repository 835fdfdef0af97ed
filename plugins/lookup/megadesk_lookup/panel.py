"""The customer record as panel blocks: fields as key/value, recent orders as a table, a link.

Nothing here knows what the tenant's fields mean; labels come from the JSON keys.
"""

from __future__ import annotations

import re

from megadesk_core.types import (
    ActionButton,
    ActionsBlock,
    Block,
    ChoiceBlock,
    ChoiceOption,
    KeyValueBlock,
    KeyValueItem,
    Link,
    LinksBlock,
    NoticeBlock,
    Panel,
    ResolvedCustomer,
    TableBlock,
    TableCell,
    TableColumn,
    TableRow,
    TicketContext,
)
from megadesk_lookup.records import CustomerRecord, Order, Scalar, web_link
from megadesk_lookup.settings import LookupSettings

TITLE = "Customer lookup"
ADD_NOTE = "add_note"
MAX_ORDER_COLUMNS = 4
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def label_for(key: str) -> str:
    """``created_at`` -> ``Created at``, ``lifetimeValue`` -> ``Lifetime value``, ``MRR`` stays."""
    words = [
        word if word.isupper() and len(word) > 1 else word.lower()
        for word in _CAMEL_BOUNDARY.sub(" ", key).replace("_", " ").replace("-", " ").split()
    ]
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text else key


def text_for(value: Scalar) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _item(key: str, value: Scalar) -> KeyValueItem:
    href = web_link(value)
    if href is None and key.lower() == "email" and isinstance(value, str) and "@" in value:
        href = f"mailto:{value}"
    return KeyValueItem(label=label_for(key), value=text_for(value), href=href)


def field_items(record: CustomerRecord, wanted: list[str] | None) -> list[KeyValueItem]:
    keys = [k for k in wanted if k in record.fields] if wanted is not None else list(record.fields)
    return [_item(key, record.fields[key]) for key in keys]


def orders_table(orders: tuple[Order, ...], limit: int) -> TableBlock:
    shown = orders[:limit]
    keys: list[str] = []
    for order in shown:
        keys.extend(k for k in order.fields if k not in keys)
    keys = keys[:MAX_ORDER_COLUMNS]
    columns = [TableColumn(key="id", label="Order")]
    for key in keys:
        numeric = all(isinstance(o.fields.get(key), int | float) for o in shown if key in o.fields)
        columns.append(TableColumn(key=key, label=label_for(key), align="end" if numeric else "start"))
    rows = [
        TableRow(
            id=order.id,
            cells={
                "id": TableCell(text=order.id, href=order.url),
                **{key: TableCell(text=text_for(order.fields.get(key))) for key in keys},
            },
        )
        for order in shown
    ]
    return TableBlock(title="Recent orders", columns=columns, rows=rows, empty_text="No orders yet")


def choice_block(record: CustomerRecord, customer: ResolvedCustomer) -> ChoiceBlock:
    options = [ChoiceOption(value=record.id, label=record.label, selected=True)]
    options += [
        ChoiceOption(value=alt.id, label=alt.label, description=alt.description) for alt in customer.alternatives
    ]
    return ChoiceBlock(label="Several customers match this email; showing:", options=options)


def customer_panel(record: CustomerRecord, customer: ResolvedCustomer, settings: LookupSettings) -> Panel:
    blocks: list[Block] = []
    if customer.alternatives:
        blocks.append(choice_block(record, customer))
    blocks.append(KeyValueBlock(title=record.label, items=field_items(record, settings.fields)))
    if record.orders is not None and settings.max_orders > 0:
        blocks.append(orders_table(record.orders, settings.max_orders))
    if record.url is not None:
        blocks.append(LinksBlock(links=[Link(label="Open the customer record", href=record.url)]))
    blocks.append(ActionsBlock(buttons=[ActionButton(action=ADD_NOTE, label="Add a note", target=record.id)]))
    return Panel(title=TITLE, verified=customer.verified, blocks=blocks)


def empty_panel(ticket: TicketContext) -> Panel:
    if ticket.requester_email:
        notice = NoticeBlock(title="No customer found", text=f"No customer has the email {ticket.requester_email}.")
    else:
        notice = NoticeBlock(
            title="Nothing to look up",
            text="The ticket has no requester email and no customer id in its Custom Data.",
        )
    return Panel(title=TITLE, status="empty", blocks=[notice])
