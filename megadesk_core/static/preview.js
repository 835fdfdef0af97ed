// The sidebar preview page: token handling, the ticket list, the sidebar and its actions.
// It draws the sidebar with sidebar-renderer.js, exactly as Megadesk's front end embeds it.

import { ApiError, createApi, seg } from "./preview-api.js";
import { clear, el } from "./renderer-dom.js";
import { openSidebarStream } from "./preview-stream.js";
import {
  applyActionDeclarations,
  openActionDialog,
  renderSidebar,
  replacePanel,
  setPanelBusy,
  showPanelMessage,
  withNextPage,
} from "./sidebar-renderer.js";

const TOKEN_KEY = "megadesk.preview.token";

const $ = (id) => document.getElementById(id);

const state = {
  token: null,
  ticketId: null,
  selections: new Map(), // integration -> the agent's choice (?select=)
  declarations: new Map(), // integration -> Promise of its declared actions (cached)
  actor: null, // who the token acts as ({ name, role }), shown in the action dialog
  generation: 0, // bumped when the ticket changes, so late answers for another ticket are dropped
  stream: null, // the AbortController of the open ticket's stream
  sidebarShown: false, // the plain sidebar answered for this generation
};

const api = createApi({
  getToken: () => state.token,
  onUnauthorized: (error) => showAuth(`That token was not accepted: ${error.detail}`),
});

// --- the token -----------------------------------------------------------------------------

/** The URL fragment as key/value pairs: #token=...&ticket=... (a fragment never reaches the server). */
function readFragment() {
  return new URLSearchParams(window.location.hash.replace(/^#/, ""));
}

function writeFragment() {
  const params = new URLSearchParams();
  if (state.ticketId) params.set("ticket", state.ticketId);
  const hash = params.toString();
  history.replaceState(null, "", `${window.location.pathname}${window.location.search}${hash ? `#${hash}` : ""}`);
}

function takeTokenFromFragment() {
  const params = readFragment();
  const token = params.get("token");
  state.ticketId = params.get("ticket");
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token.trim());
    // Drop it from the address bar and the history entry at once.
    writeFragment();
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function showAuth(message, { forget = true } = {}) {
  if (forget) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
  }
  $("workspace").hidden = true;
  $("session").hidden = true;
  $("auth").hidden = false;
  const error = $("auth-error");
  error.textContent = message || "";
  error.hidden = !message;
  $("token-input").focus();
}

async function start(token) {
  state.token = token;
  $("auth").hidden = true;
  try {
    const me = await api.get("/api/v1/me");
    state.actor = { name: me.token_name, role: me.role };
    $("session-name").textContent = me.token_name;
    $("session-tenant").textContent = me.tenant;
    $("session-role").textContent = me.role;
    $("session").hidden = false;
    $("workspace").hidden = false;
    await loadTickets();
  } catch (error) {
    // A 401 already asked for another token; anything else (the server is down) keeps this one.
    if (!(error instanceof ApiError) || error.status !== 401) {
      showAuth(`${error.detail || error} Reload the page to try again.`, { forget: false });
    }
  }
}

// --- tickets -------------------------------------------------------------------------------

async function loadTickets() {
  const list = clear($("ticket-list"));
  const status = $("tickets-status");
  status.textContent = "Loading tickets…";
  status.hidden = false;
  status.classList.remove("form-error");
  let tickets;
  try {
    tickets = await api.get("/api/v1/tickets");
  } catch (error) {
    status.textContent = error.detail;
    status.classList.add("form-error");
    return;
  }
  status.hidden = tickets.length > 0;
  status.textContent = tickets.length ? "" : "No tickets yet. Megadesk sends them with PUT /api/v1/tickets/{id}.";
  for (const ticket of tickets) {
    list.append(
      el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            className: "ticket",
            dataset: { ticketId: ticket.id },
            on: { click: () => selectTicket(ticket) },
          },
          el("span", { className: "ticket__id", text: ticket.id }),
          el("span", { className: "ticket__subject", text: ticket.subject || "(no subject)" }),
          el("span", { className: "ticket__email", text: ticket.requester_email || "no requester email" }),
        ),
      ),
    );
  }
  const wanted = tickets.find((t) => t.id === state.ticketId);
  if (wanted) selectTicket(wanted);
  else showSidebarPlaceholder(tickets.length ? "Choose a ticket to see its sidebar." : "");
}

function showSidebarPlaceholder(text) {
  clear($("ticket-header"));
  clear($("panels")).append(el("p", { className: "placeholder", text }));
}

async function selectTicket(ticket) {
  state.ticketId = ticket.id;
  state.selections.clear();
  writeFragment();
  for (const button of document.querySelectorAll(".ticket")) {
    button.setAttribute("aria-current", String(button.dataset.ticketId === ticket.id));
  }
  clear($("ticket-header")).append(
    el(
      "div",
      { className: "ticket-header__main" },
      el("p", { className: "ticket-header__id", text: `Ticket ${ticket.id}` }),
      el("h1", { className: "ticket-header__subject", text: ticket.subject || "(no subject)" }),
      el("p", { className: "ticket-header__email", text: ticket.requester_email || "no requester email" }),
    ),
    el("button", { type: "button", className: "button", text: "Reload sidebar", on: { click: () => loadSidebar() } }),
  );
  await loadSidebar();
}

// --- the sidebar ---------------------------------------------------------------------------

async function loadSidebar() {
  const generation = ++state.generation;
  const ticketId = state.ticketId;
  const panels = $("panels");
  panels.setAttribute("aria-busy", "true");
  clear(panels).append(el("p", { className: "placeholder", text: "Loading the sidebar…" }));
  state.sidebarShown = false;
  listen(ticketId, generation);
  const params = new URLSearchParams();
  for (const [integration, value] of state.selections) params.append("select", `${integration}:${value}`);
  const query = params.toString();
  try {
    const sidebar = await api.get(`/api/v1/tickets/${seg(ticketId)}/sidebar${query ? `?${query}` : ""}`);
    if (generation !== state.generation) return;
    state.sidebarShown = true;
    renderSidebar(panels, sidebar, handlers);
    for (const panel of sidebar.panels) markDangerousButtons(panel);
  } catch (error) {
    if (generation !== state.generation) return;
    clear(panels).append(el("div", { className: "notice notice--danger", attrs: { role: "alert" } }, el("strong", { text: error.detail })));
  } finally {
    if (generation === state.generation) panels.setAttribute("aria-busy", "false");
  }
}

/**
 * The open ticket's stream: panels as each is rendered (drawn while the whole sidebar is still
 * loading, so a slow integration does not hold back the others), then a panel again when its data
 * changed upstream (drawn at once and marked as just updated).
 */
function listen(ticketId, generation) {
  if (state.stream) state.stream.abort();
  const controller = new AbortController();
  state.stream = controller;
  openSidebarStream({
    ticketIds: [ticketId],
    getToken: () => state.token,
    signal: controller.signal,
    onEvent: (type, data) => {
      if (generation !== state.generation || data.ticket_id !== ticketId) return;
      const panels = $("panels");
      if (type === "stale") {
        setPanelBusy(panels, data.integration, true);
      } else if (type === "panel" && data.updated) {
        if (state.selections.has(data.panel.integration)) {
          reloadPanel(data.panel); // the agent's choice: render that one, not the default
        } else {
          drawPanel(data.panel, { tone: "info", text: `Updated just now: the data changed in ${data.panel.title}.` });
          panels.querySelector(`.panel[data-integration="${CSS.escape(data.panel.integration)}"]`)?.classList.add("panel--updated");
        }
      } else if (type === "panel" && !state.sidebarShown) {
        panels.querySelector(":scope > .placeholder")?.remove();
        drawPanel(data.panel);
      }
    },
  });
}

const handlers = {
  onAction: runAction,
  onSelect: (panel, value) => {
    state.selections.set(panel.integration, value);
    reloadPanel(panel);
  },
  onReload: (panel) => reloadPanel(panel),
  onMore: (panel, block) => showMore(panel, block),
};

/** Draw a panel in place of its card, with a result message if given. */
function drawPanel(panel, message) {
  replacePanel($("panels"), panel, { message });
  markDangerousButtons(panel);
}

async function reloadPanel(panel) {
  const generation = state.generation;
  setPanelBusy($("panels"), panel.integration, true);
  try {
    const fresh = await api.get(`/api/v1/tickets/${seg(state.ticketId)}/panels/${seg(panel.integration)}`, {
      select: state.selections.get(panel.integration),
    });
    if (generation === state.generation) drawPanel(fresh);
  } catch (error) {
    if (generation !== state.generation) return;
    setPanelBusy($("panels"), panel.integration, false);
    showPanelMessage($("panels"), panel.integration, { tone: "danger", text: error.detail });
  }
}

/** A table's "show more": its next page, appended to the rows the panel shows. */
async function showMore(panel, block) {
  const generation = state.generation;
  setPanelBusy($("panels"), panel.integration, true);
  try {
    const page = await api.get(`/api/v1/tickets/${seg(state.ticketId)}/panels/${seg(panel.integration)}`, {
      select: state.selections.get(panel.integration),
      page: block.next_page.cursor,
    });
    if (generation === state.generation) drawPanel(withNextPage(panel, page, block.title));
  } catch (error) {
    if (generation !== state.generation) return;
    setPanelBusy($("panels"), panel.integration, false);
    showPanelMessage($("panels"), panel.integration, { tone: "danger", text: error.detail });
  }
}

// --- actions -------------------------------------------------------------------------------

function declarationsOf(integration) {
  if (!state.declarations.has(integration)) {
    const request = api.get(`/api/v1/integrations/${seg(integration)}/actions`);
    request.catch(() => state.declarations.delete(integration)); // retry next time
    state.declarations.set(integration, request);
  }
  return state.declarations.get(integration);
}

/** Give the buttons of dangerous actions their colour once the declarations are known. */
async function markDangerousButtons(panel) {
  if (!panelHasActions(panel)) return;
  try {
    applyActionDeclarations($("panels"), panel.integration, await declarationsOf(panel.integration));
  } catch {
    // The click says what went wrong.
  }
}

function panelHasActions(panel) {
  return (panel.blocks || []).some(
    (b) => (b.buttons || []).length > 0 || (b.rows || []).some((r) => (r.actions || []).length > 0),
  );
}

async function runAction(panel, button, buttonElement) {
  const ticketId = state.ticketId;
  const fail = (text) => showPanelMessage($("panels"), panel.integration, { tone: "danger", text });
  let declaration;
  try {
    const declared = await declarationsOf(panel.integration);
    declaration = declared.find((d) => d.name === button.action);
  } catch (error) {
    fail(error.detail);
    return;
  }
  if (!declaration) {
    fail(`${panel.title} does not offer the action "${button.action}" (any more). Reload the panel.`);
    return;
  }
  const select = state.selections.get(panel.integration);
  openActionDialog({
    opener: buttonElement,
    panel,
    button,
    declaration,
    actor: state.actor,
    send: (body, idempotencyKey) =>
      api.post(`/api/v1/tickets/${seg(ticketId)}/panels/${seg(panel.integration)}/actions/${seg(declaration.name)}`, body, {
        params: { select },
        idempotencyKey,
      }),
    onSuccess: (data, replayed) => {
      if (ticketId !== state.ticketId) return;
      const result = data.result || {};
      const details = [];
      if (result.reference) details.push(`Reference ${result.reference}`);
      for (const [key, value] of Object.entries(result.details || {})) details.push(`${key}: ${value}`);
      if (replayed) details.push("already done earlier: this is the stored result");
      const message = { tone: "success", text: result.message || `${declaration.title}: done.`, details };
      if (data.panel) drawPanel(data.panel, message);
      else showPanelMessage($("panels"), panel.integration, message);
    },
  });
}

// --- start ---------------------------------------------------------------------------------

function init() {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token-input").value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $("token-input").value = "";
    start(value);
  });
  $("refresh-tickets").addEventListener("click", () => loadTickets());
  $("sign-out").addEventListener("click", () => {
    state.ticketId = null;
    writeFragment();
    showAuth("");
  });
  window.addEventListener("hashchange", () => {
    if (readFragment().get("token")) start(takeTokenFromFragment());
  });
  const token = takeTokenFromFragment();
  if (token) start(token);
  else showAuth("");
}

init();
