// One panel card, drawn from a SidebarPanel (panel schema v1) and its blocks alone: the
// renderer knows the block types and nothing about any integration. Unknown fields are ignored.

import { el, link } from "./renderer-dom.js";

const TONES = new Set(["neutral", "info", "success", "warning", "danger"]);
const SHORT_CELL = 24;

function tone(value, fallback = "neutral") {
  return TONES.has(value) ? value : fallback;
}

/**
 * One card for one panel.
 * handlers: onAction(panel, button, buttonElement), onSelect(panel, value), onReload(panel),
 * onMore(panel, block, buttonElement)
 */
export function buildPanel(panel, handlers) {
  const titleId = `mdk-panel-title-${panel.integration}`;
  const card = el("section", {
    className: `panel panel--${panel.status}${panel.verified === false ? " panel--unverified" : ""}`,
    dataset: { integration: panel.integration, status: panel.status },
    attrs: { "aria-labelledby": titleId },
  });
  const header = el(
    "header",
    { className: "panel__header" },
    // tabindex -1: focus lands here when the control that had it is gone after a re-render.
    el("h2", { className: "panel__title", id: titleId, text: panel.title, attrs: { tabindex: "-1" } }),
    panel.verified === true ? el("span", { className: "verified-chip", text: "Verified" }) : null,
    el("button", {
      type: "button",
      className: "icon-button panel__reload",
      text: "Reload",
      dataset: { focusKey: "reload" },
      attrs: { "aria-label": `Reload ${panel.title}` },
      on: { click: () => handlers.onReload(panel) },
    }),
  );
  card.append(header);
  if (panel.verified === false) card.append(notVerifiedBanner(panel.verification_note));
  if (panel.stale && typeof panel.stale.message === "string") card.append(staleNote(panel.stale));
  card.append(el("div", { className: "panel__flash", attrs: { "aria-live": "polite" } }));

  const body = el("div", { className: "panel__body" });
  if (panel.status === "error") {
    const error = panel.error || {};
    body.append(
      notice("danger", error.message || `${panel.title} could not be shown.`, error.code ? `Error code: ${error.code}` : null),
    );
  }
  for (const block of panel.blocks || []) body.append(renderBlock(block, panel, handlers));
  if (!body.hasChildNodes()) body.append(el("p", { className: "muted", text: "Nothing to show." }));
  card.append(body);
  return card;
}

// The host's label, the only "not verified" on the panel; the plugin's note says why.
function notVerifiedBanner(note) {
  return el(
    "div",
    { className: "not-verified", attrs: { role: "note" } },
    el("span", { className: "not-verified__icon", text: "!", attrs: { "aria-hidden": "true" } }),
    el(
      "div",
      { className: "not-verified__body" },
      el("strong", { className: "not-verified__label", text: "NOT VERIFIED" }),
      el("span", {
        className: "not-verified__text",
        text: "This record was matched by something uncertain, such as the email address. Confirm the customer's identity before you act.",
      }),
      typeof note === "string" && note ? el("span", { className: "not-verified__note", text: note }) : null,
    ),
  );
}

// The host's note on a panel older than its fresh time: its age, and why (refreshing, or the
// upstream failed or is busy). "refreshing" is quiet; the others ask for care with the data.
function staleNote(stale) {
  const quiet = stale.reason === "refreshing";
  return el("p", {
    className: `stale-note${quiet ? "" : " stale-note--warning"}`,
    text: stale.message,
    attrs: { role: "status" },
  });
}

function renderBlock(block, panel, handlers) {
  switch (block.type) {
    case "key_value":
      return keyValueBlock(block);
    case "table":
      return tableBlock(block, panel, handlers);
    case "badges":
      return el("ul", { className: "block badges" }, (block.badges || []).map((b) => el("li", {}, badge(b))));
    case "links":
      return el(
        "ul",
        { className: "block links" },
        (block.links || []).map((l) => el("li", {}, link(l.href, l.label, { className: "external" }))),
      );
    case "notice":
      return notice(tone(block.tone, "info"), block.title, block.text);
    case "actions":
      return el(
        "div",
        { className: "block actions-bar" },
        (block.buttons || []).map((b) => actionButton(b, panel, handlers, "button")),
      );
    case "choice":
      return choiceBlock(block, panel, handlers);
    default:
      // A newer host may send block types this renderer predates: say so instead of hiding data.
      return notice("neutral", `This panel has a part this page cannot show (${block.type}).`, null);
  }
}

function blockTitle(title) {
  return title ? el("h3", { className: "block__title", text: title }) : null;
}

export function badge(b) {
  return el("span", { className: `badge badge--${tone(b.tone)}`, text: b.label });
}

export function notice(toneName, title, text) {
  return el(
    "div",
    { className: `block notice notice--${toneName}` },
    el("strong", { className: "notice__title", text: title }),
    text ? el("p", { className: "notice__text", text }) : null,
  );
}

function keyValueBlock(block) {
  const rows = (block.items || []).map((item) => {
    const value = item.href ? link(item.href, item.value || item.href) : item.value;
    const empty = (value === null || value === undefined || value === "") && !item.badge;
    return el(
      "div",
      { className: "kv__row" },
      el("dt", { text: item.label }),
      el(
        "dd",
        {},
        empty ? el("span", { className: "muted", text: "—" }) : null,
        value && !(item.badge && item.badge.label === item.value) ? el("span", { className: "kv__value" }, value) : null,
        item.badge ? badge(item.badge) : null,
      ),
    );
  });
  return el("section", { className: "block" }, blockTitle(block.title), el("dl", { className: "kv" }, rows));
}

// A table at wide widths; in a narrow panel the stylesheet turns each row into a card (a CSS
// container query on the panel), with each cell's column label from data-label. The explicit
// roles keep the table's semantics for assistive technology once the display types change.
function tableBlock(block, panel, handlers) {
  const columns = block.columns || [];
  const rows = block.rows || [];
  const section = el("section", { className: "block" }, blockTitle(block.title));
  if (rows.length === 0) {
    section.append(el("p", { className: "muted", text: block.empty_text || "Nothing to show." }));
    return section;
  }
  const hasActions = rows.some((r) => (r.actions || []).length > 0);
  const alignClass = (column) => (column.align === "end" ? "align-end" : "align-start");
  const head = el(
    "tr",
    { attrs: { role: "row" } },
    columns.map((c) => el("th", { scope: "col", className: alignClass(c), text: c.label, attrs: { role: "columnheader" } })),
    hasActions
      ? el("th", { scope: "col", className: "align-end", attrs: { role: "columnheader" } }, el("span", { className: "visually-hidden", text: "Actions" }))
      : null,
  );
  const body = rows.map((row) =>
    el(
      "tr",
      { dataset: { rowId: row.id }, attrs: { role: "row" } },
      columns.map((c) => {
        const data = (row.cells || {})[c.key];
        // Short values (dates, amounts, statuses) stay on one line; long text wraps.
        const short = !data || String(data.text || "").length <= SHORT_CELL;
        return el(
          "td",
          { className: `${alignClass(c)}${short ? " nowrap" : ""}`, dataset: { label: c.label }, attrs: { role: "cell" } },
          cell(data),
        );
      }),
      hasActions
        ? el(
            "td",
            { className: "row-actions", attrs: { role: "cell" } },
            el("div", { className: "row-actions__list" }, (row.actions || []).map((b) => actionButton(b, panel, handlers, "small"))),
          )
        : null,
    ),
  );
  section.append(
    el(
      "div",
      { className: "table-wrap" },
      el(
        "table",
        { className: "data-table", attrs: { role: "table" } },
        el("thead", { attrs: { role: "rowgroup" } }, head),
        el("tbody", { attrs: { role: "rowgroup" } }, body),
      ),
    ),
  );
  section.append(moreButton(block, panel, handlers));
  return section;
}

// A table's "show more": the embedder fetches the next page (?page=cursor) and merges it.
function moreButton(block, panel, handlers) {
  const page = block.next_page;
  if (!page || typeof page.cursor !== "string" || !handlers.onMore) return null;
  return el("button", {
    type: "button",
    className: "action-button action-button--small table-more",
    text: page.label || "Show more",
    dataset: { focusKey: `more:${block.title || ""}` },
    on: { click: (event) => handlers.onMore(panel, block, event.currentTarget) },
  });
}

function cell(data) {
  if (!data) return el("span", { className: "muted", text: "—" });
  const parts = [];
  // A badge that repeats the cell's text replaces it; otherwise both are shown.
  if (!(data.badge && data.badge.label === data.text)) {
    parts.push(data.href ? link(data.href, data.text) : el("span", { text: data.text }));
  }
  if (data.badge) parts.push(badge(data.badge));
  if (data.hint) parts.push(el("span", { className: "cell__hint", text: data.hint }));
  return el("span", { className: "cell__value" }, parts);
}

function actionButton(button, panel, handlers, size) {
  return el("button", {
    type: "button",
    className: `action-button${size === "small" ? " action-button--small" : ""}`,
    text: button.label,
    dataset: { action: button.action, target: button.target, focusKey: `action:${button.action}:${button.target}:${button.label}` },
    on: { click: (event) => handlers.onAction(panel, button, event.currentTarget) },
  });
}

function choiceBlock(block, panel, handlers) {
  const name = `mdk-choice-${panel.integration}`;
  const options = (block.options || []).map((option, index) => {
    const id = `${name}-${index}`;
    return el(
      "div",
      { className: `choice__option${option.selected ? " choice__option--selected" : ""}` },
      el("input", {
        type: "radio",
        id,
        name,
        value: option.value,
        checked: Boolean(option.selected),
        dataset: { focusKey: `choice:${option.value}` },
        on: { change: () => handlers.onSelect(panel, option.value) },
      }),
      el(
        "label",
        { htmlFor: id },
        el("span", { className: "choice__label", text: option.label }),
        option.description ? el("span", { className: "choice__description", text: option.description }) : null,
      ),
    );
  });
  return el("fieldset", { className: "block choice" }, el("legend", { text: block.label || "Choose" }), options);
}
