"""The panel schema: the generic, versioned JSON that Megadesk renders in the ticket sidebar.

A plugin builds a :class:`Panel` out of blocks; Megadesk (and the preview page) draw every
block type without knowing which integration produced it. Version 1 is published as JSON
Schema at ``GET /api/v1/schema/panel``. Adding optional fields or block types is a minor
change; renaming or removing one bumps :data:`PANEL_SCHEMA_VERSION`.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

PANEL_SCHEMA_VERSION: Final = 1
MIN_PANEL_SCHEMA_VERSION: Final = 1
"""The oldest panel schema version a plugin may render for this host (the host draws it)."""

Tone = Literal["neutral", "info", "success", "warning", "danger"]
JsonScalar = str | int | float | bool | None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _safe_href(value: str) -> str:
    # Panels are drawn in the agent's browser: only web links, never javascript: or data: URLs.
    if not value.startswith(("https://", "http://", "mailto:")):
        raise ValueError("links must be http(s) or mailto URLs")
    return value


# The pattern publishes the rule in the JSON Schema; the validator enforces it with a message.
Href = Annotated[str, Field(json_schema_extra={"pattern": "^(https?://|mailto:)"}), AfterValidator(_safe_href)]


class Badge(_Frozen):
    """A short coloured label, e.g. a status."""

    label: str
    tone: Tone = "neutral"


class ActionButton(_Frozen):
    """A button that runs one of the integration's declared actions on ``target``.

    ``prefill`` pre-fills fields of the action's payload form (validated when the action runs).
    """

    action: str
    label: str
    target: str
    prefill: dict[str, JsonScalar] = Field(default_factory=dict)


class KeyValueItem(_Frozen):
    label: str
    value: str | None = None
    href: Href | None = None
    badge: Badge | None = None


class KeyValueBlock(_Frozen):
    """Labelled values, e.g. a customer's name, email and balance."""

    type: Literal["key_value"] = "key_value"
    title: str | None = None
    items: list[KeyValueItem]


class TableCell(_Frozen):
    text: str
    href: Href | None = None
    badge: Badge | None = None
    hint: str | None = None


class TableColumn(_Frozen):
    key: str
    label: str
    align: Literal["start", "end"] = "start"


class TableRow(_Frozen):
    id: str
    cells: dict[str, TableCell]
    actions: list[ActionButton] = Field(default_factory=list)


class TablePage(_Frozen):
    """The next page of a table's rows: the renderer offers a "show more" button that asks for
    the integration's panel again with ``page=<cursor>`` and appends the rows of the table with
    the same title in the answer (and takes that table's ``next_page``)."""

    cursor: str = Field(min_length=1, max_length=255, description="Opaque to the host; the plugin reads it back.")
    label: str = "Show more"


class TableBlock(_Frozen):
    """Rows of records with optional per-row actions, e.g. payment history. With ``next_page``,
    a "show more" button reloads the panel with ``?page=<cursor>``, which reaches the plugin as
    ``TicketContext.page``, and appends the rows of the table of the same title."""

    type: Literal["table"] = "table"
    title: str | None = None
    columns: list[TableColumn]
    rows: list[TableRow]
    empty_text: str | None = None
    next_page: TablePage | None = None
    """Optional: more rows exist (see :class:`TablePage`); the plugin gets the cursor back as
    ``TicketContext.page``."""


class BadgesBlock(_Frozen):
    type: Literal["badges"] = "badges"
    badges: list[Badge]


class Link(_Frozen):
    label: str
    href: Href


class LinksBlock(_Frozen):
    type: Literal["links"] = "links"
    links: list[Link]


class NoticeBlock(_Frozen):
    """A message to the agent; ``tone="warning"`` for things they must not miss."""

    type: Literal["notice"] = "notice"
    tone: Tone = "info"
    title: str
    text: str | None = None


class ActionsBlock(_Frozen):
    """Panel-level action buttons (not tied to a table row)."""

    type: Literal["actions"] = "actions"
    buttons: list[ActionButton]


class ChoiceOption(_Frozen):
    value: str
    label: str
    description: str | None = None
    selected: bool = False


class ChoiceBlock(_Frozen):
    """Let the agent pick one of several records; choosing reloads the panel with
    ``?select=<value>``, which reaches the plugin as ``TicketContext.selection``."""

    type: Literal["choice"] = "choice"
    label: str
    options: list[ChoiceOption]


Block = Annotated[
    KeyValueBlock | TableBlock | BadgesBlock | LinksBlock | NoticeBlock | ActionsBlock | ChoiceBlock,
    Field(discriminator="type"),
]


MAX_PANEL_OBJECTS: Final = 500
MAX_OBJECT_ID_LENGTH: Final = 255
ObjectId = Annotated[str, Field(min_length=1, max_length=MAX_OBJECT_ID_LENGTH)]


class Panel(_Frozen):
    """What a plugin's ``sidebar_panel`` hook returns.

    ``verified`` is ``False`` when the record shown was matched by something uncertain (an
    email); Megadesk then shows a *not verified* label. ``None`` means "nothing to verify".
    ``verification_note`` is the plugin's reason, added to that label (e.g. "2 Stripe customers
    share this email"): the host owns the label, so a plugin adds no notice of its own.
    ``objects`` (optional) are the ids of the upstream records the panel shows (a customer, its
    payments, refunds...): when the plugin's ``webhook`` hook reports one of them changed, the
    host drops exactly the kept panels that show it and tells open sidebars.
    """

    title: str
    blocks: list[Block] = Field(default_factory=list)
    verified: bool | None = None
    verification_note: str | None = None
    status: Literal["ok", "empty"] = "ok"
    objects: list[ObjectId] = Field(default_factory=list, max_length=MAX_PANEL_OBJECTS)


class PanelError(_Frozen):
    code: str
    message: str


class StaleNotice(_Frozen):
    """Set by the host when it serves a panel older than its fresh time: how old, and why."""

    age_seconds: int
    reason: Literal["refreshing", "upstream_unavailable", "busy"]
    """``refreshing``: a new render is under way; ``upstream_unavailable``: the upstream failed
    (timeout, 429, 5xx); ``busy``: the host's request budget for that upstream is spent."""
    message: str
    """What to show the agent, e.g. "Stripe did not answer; showing data from 3 minutes ago"."""


class SidebarPanel(_Frozen):
    """One panel as the API serves it: the plugin's panel plus what the host adds."""

    schema_version: Literal[1] = PANEL_SCHEMA_VERSION
    integration: str
    title: str
    status: Literal["ok", "empty", "error"]
    verified: bool | None = None
    verification_note: str | None = None
    """The plugin's reason for the *not verified* label; only set when ``verified`` is ``False``."""
    blocks: list[Block] = Field(default_factory=list)
    error: PanelError | None = None
    stale: StaleNotice | None = None
    """Present when this panel was rendered earlier than the panel cache's fresh time allows."""
    objects: list[str] = Field(default_factory=list, exclude=True)
    """The plugin's ``Panel.objects``: the host's bookkeeping (which kept panels a change
    invalidates), never served."""


class Sidebar(_Frozen):
    schema_version: Literal[1] = PANEL_SCHEMA_VERSION
    ticket_id: str
    panels: list[SidebarPanel]


def panel_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the sidebar response, blocks included."""
    schema = Sidebar.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://megadesk.example/schemas/sidebar-v{PANEL_SCHEMA_VERSION}.json"
    return schema
