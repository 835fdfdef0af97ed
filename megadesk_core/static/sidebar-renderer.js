// Megadesk's sidebar renderer: draws the sidebar JSON of the agent API (panel schema v1) into
// an element. Dependency-free ES module; its styles are sidebar-renderer.css. The preview page
// uses it like any embedder. API and events: docs/renderer.md.
//
//   import { renderSidebar, replacePanel } from "/preview/static/sidebar-renderer.js";
//   renderSidebar(element, sidebarJson, { onAction, onSelect, onReload, onMore });

import { el } from "./renderer-dom.js";
import { openDialog } from "./renderer-dialog.js";
import { buildPanel, notice } from "./renderer-panel.js";

/** The panel schema version this renderer draws (megadesk_core.panel.PANEL_SCHEMA_VERSION). */
export const PANEL_SCHEMA_VERSION = 1;

const ROOT_CLASS = "mdk-sidebar";
const NO_HANDLERS = { onAction() {}, onSelect() {}, onReload() {}, onMore: null };
const mounted = new WeakMap(); // element -> its handlers, for replacePanel

/**
 * Draw a whole sidebar (`GET /api/v1/tickets/{id}/sidebar`) into `element`, replacing what it held.
 * handlers (all optional): onAction(panel, button, buttonElement), onSelect(panel, value), onReload(panel),
 * onMore(panel, block, buttonElement) (without it, tables offer no "show more").
 */
export function renderSidebar(element, sidebar, handlers = {}, { emptyText = "No integration is enabled for this tenant." } = {}) {
  element.classList.add(ROOT_CLASS);
  mounted.set(element, { ...NO_HANDLERS, ...handlers });
  if (!sidebar || sidebar.schema_version !== PANEL_SCHEMA_VERSION) {
    // A different version renamed or removed something: drawing it anyway could mislead.
    element.replaceChildren(versionNotice(sidebar && sidebar.schema_version));
    return;
  }
  const panels = Array.isArray(sidebar.panels) ? sidebar.panels : [];
  element.replaceChildren(...panels.map((panel) => buildPanel(panel, handlersOf(element))));
  if (panels.length === 0) element.append(el("p", { className: "mdk-empty", text: emptyText }));
}

/**
 * Draw one panel (`GET .../panels/{integration}`, or the `panel` of an action's response) in
 * place of the card of the same integration, or at the end when it has none yet. Focus that was
 * inside the old card moves to the same control in the new one (or to the panel's title).
 * `message` (optional): { tone: "success" | "danger" | ..., text, details: [string] }.
 */
export function replacePanel(element, panel, { message } = {}) {
  element.classList.add(ROOT_CLASS);
  if (panel.schema_version !== undefined && panel.schema_version !== PANEL_SCHEMA_VERSION) {
    panel = { ...panel, status: "error", blocks: [], error: { code: "schema_version", message: versionText(panel.schema_version) } };
  }
  const card = buildPanel(panel, handlersOf(element));
  if (message) showMessageIn(card, message);
  const current = cardOf(element, panel.integration);
  element.querySelector(":scope > .mdk-empty")?.remove();
  if (!current) {
    element.append(card);
    return card;
  }
  const focusKey = current.contains(document.activeElement) ? focusKeyOf(document.activeElement) : null;
  current.replaceWith(card);
  if (focusKey !== null) focusIn(card, focusKey);
  return card;
}

/**
 * A panel with a table's next page appended: `pagePanel` is the panel fetched with
 * `?page=<block.next_page.cursor>`; the rows of its table titled `title` follow the rows
 * `panel` has (a row already shown is not repeated), and its `next_page` replaces the old one.
 */
export function withNextPage(panel, pagePanel, title) {
  const next = (pagePanel.blocks || []).find((b) => b.type === "table" && b.title === title);
  const blocks = (panel.blocks || []).map((block) => {
    if (block.type !== "table" || block.title !== title) return block;
    const shown = new Set((block.rows || []).map((r) => r.id));
    const more = next ? (next.rows || []).filter((r) => !shown.has(r.id)) : [];
    return { ...block, rows: [...(block.rows || []), ...more], next_page: next ? next.next_page || null : null };
  });
  return { ...panel, blocks };
}

/** Show a message at the top of a panel (an action's result, a failed reload). */
export function showPanelMessage(element, integration, message) {
  const card = cardOf(element, integration);
  if (card) showMessageIn(card, message);
}

/** Mark a panel as loading (dimmed, aria-busy) or done. */
export function setPanelBusy(element, integration, busy) {
  const card = cardOf(element, integration);
  if (!card) return;
  if (busy) card.setAttribute("aria-busy", "true");
  else card.removeAttribute("aria-busy");
}

/**
 * Style a panel's action buttons from the integration's declarations (`GET
 * /api/v1/integrations/{name}/actions`): dangerous ones in red, the description as tooltip.
 */
export function applyActionDeclarations(element, integration, declarations) {
  const card = cardOf(element, integration);
  if (!card) return;
  for (const button of card.querySelectorAll(".action-button")) {
    const declaration = declarations.find((d) => d.name === button.dataset.action);
    button.classList.toggle("action-button--danger", Boolean(declaration && declaration.danger));
    if (declaration && declaration.description) button.title = declaration.description;
  }
}

/**
 * The confirmation dialog for one action button (see renderer-dialog.js for the options).
 * `opener` is the button element the agent clicked; focus returns to it when the dialog
 * closes, or, if the panel was redrawn meanwhile, to the same button or the panel's title.
 */
export function openActionDialog({ opener, ...options }) {
  const element = opener ? opener.closest(`.${ROOT_CLASS}`) : null;
  const integration = options.panel.integration;
  const focusKey = opener ? focusKeyOf(opener) : null;
  const returnFocus = () => {
    if (opener && opener.isConnected) opener.focus();
    else if (element && cardOf(element, integration)) focusIn(cardOf(element, integration), focusKey);
  };
  return openDialog({ ...options, returnFocus });
}

// --- helpers ---------------------------------------------------------------------------------

function handlersOf(element) {
  return mounted.get(element) || NO_HANDLERS;
}

function cardOf(element, integration) {
  return [...element.querySelectorAll(":scope > .panel")].find((c) => c.dataset.integration === integration) || null;
}

function focusKeyOf(node) {
  const keyed = node.closest("[data-focus-key]");
  return keyed ? keyed.dataset.focusKey : "";
}

function focusIn(card, focusKey) {
  const same = [...card.querySelectorAll("[data-focus-key]")].find((n) => n.dataset.focusKey === focusKey && !n.disabled);
  (same || card.querySelector(".panel__title")).focus();
}

function showMessageIn(card, { tone = "success", text, details = [] }) {
  const flash = card.querySelector(".panel__flash");
  const node = el(
    "div",
    { className: `flash flash--${tone}`, attrs: { role: tone === "danger" ? "alert" : "status" } },
    el(
      "div",
      { className: "flash__body" },
      el("strong", { className: "flash__message", text }),
      details.length ? el("p", { className: "flash__details" }, details.join(" · ")) : null,
    ),
  );
  node.append(el("button", { type: "button", className: "icon-button", text: "Dismiss", on: { click: () => node.remove() } }));
  flash.replaceChildren(node);
}

function versionText(version) {
  return `This sidebar uses panel schema version ${version}; this renderer draws version ${PANEL_SCHEMA_VERSION}. Load the renderer the server serves.`;
}

function versionNotice(version) {
  return notice("danger", "The sidebar cannot be shown", versionText(version));
}
