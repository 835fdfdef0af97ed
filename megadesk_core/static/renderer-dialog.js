// The action dialog: confirmation text, a form generated from the action's payload JSON
// Schema, one Idempotency-Key per opening, the result or the API's problem. A modal <dialog>:
// centred in the viewport at every width, focus inside it while open, Escape closes it, and
// focus goes back to the button that opened it (or what replaced it) afterwards.

import { el, humanize } from "./renderer-dom.js";

const HIDDEN_FIELDS = new Set(["target", "identity_confirmed"]);
const RADIO_LIMIT = 4; // enums with more options than this become a <select>

/**
 * Open the dialog for one button. `declaration` is the action as GET .../actions declares it.
 * `send(body, idempotencyKey)` posts the action (body: the JSON text) and returns
 * `{ data, replayed }` or throws an error with `detail`, `code` and `errors` (RFC 9457 fields);
 * `onSuccess(data, replayed)` is called once the action succeeded, before focus is given back.
 * `returnFocus()` is called when the dialog closes, to put focus back where the agent was.
 * `actor` (optional): `{ name, role }` of who runs the action (GET /api/v1/me), shown in the
 * dialog; the server enforces what the role may do (e.g. a refund above the agents' cap).
 */
export function openDialog({ panel, button, declaration, send, onSuccess, returnFocus, actor }) {
  const schema = declaration.payload_schema || {};
  const properties = schema.properties || {};
  const required = new Set(schema.required || []);
  const prefill = button.prefill || {};
  const needsIdentity = panel.verified === false && declaration.requires_verified_customer;

  const fields = Object.entries(properties)
    .filter(([name]) => !HIDDEN_FIELDS.has(name))
    .map(([name, raw]) => buildField(name, resolve(raw, schema), required.has(name), prefill));

  let identity = needsIdentity ? identityField() : null;
  const problem = el("div", { className: "dialog-problem", attrs: { role: "alert" }, hidden: true });
  const cancel = el("button", { type: "button", className: "button", text: "Cancel" });
  const submit = el("button", {
    type: "submit",
    className: `button ${declaration.danger ? "button--danger" : "button--primary"}`,
    text: declaration.title,
  });
  const form = el(
    "form",
    { className: "dialog-form" },
    el(
      "p",
      { className: `confirmation${declaration.danger ? " confirmation--danger" : ""}` },
      declaration.confirmation,
    ),
    declaration.description ? el("p", { className: "dialog-description", text: declaration.description }) : null,
    el(
      "dl",
      { className: "dialog-target" },
      el("dt", { text: "Applies to" }),
      el("dd", {}, el("code", { text: button.target })),
      actor && actor.name ? el("dt", { text: "Acting as" }) : null,
      actor && actor.name ? el("dd", { className: "dialog-actor", text: `${actor.name} (${actor.role || "agent"})` }) : null,
    ),
    fields.length ? el("div", { className: "dialog-fields" }, fields.map((f) => f.node)) : null,
    identity ? identity.node : null,
    problem,
    el("footer", { className: "dialog-footer" }, cancel, submit),
  );
  const titleId = `mdk-dialog-title-${Date.now()}`;
  const dialog = el(
    "dialog",
    {
      className: `mdk-dialog action-dialog${declaration.danger ? " action-dialog--danger" : ""}`,
      attrs: { "aria-labelledby": titleId },
      dataset: { action: declaration.name },
    },
    el(
      "header",
      { className: "dialog-header" },
      el("p", { className: "dialog-kicker", text: panel.title }),
      el("h2", { id: titleId, text: declaration.title }),
    ),
    form,
  );

  // One key per opening; reused while the agent resends the same payload (a retry after a
  // network error, a double click), replaced when they change it (the server would refuse
  // a different payload under a used key).
  let attempt = null;
  let inFlight = false;

  // Escape fires "cancel": refused while the action is being sent, so its outcome is seen.
  dialog.addEventListener("cancel", (event) => {
    if (inFlight) event.preventDefault();
  });
  dialog.addEventListener("keydown", (event) => trapTab(dialog, event));
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (returnFocus) returnFocus();
  });
  cancel.addEventListener("click", () => dialog.close());

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (inFlight) return;
    const payload = { ...prefill };
    for (const field of fields) field.collect(payload);
    if (identity) payload.identity_confirmed = identity.checked();
    payload.target = button.target;
    const body = JSON.stringify(payload);
    if (!attempt || attempt.body !== body) attempt = { body, key: newIdempotencyKey() };

    inFlight = true;
    setBusy(true);
    showProblem(null);
    try {
      const { data, replayed } = await send(body, attempt.key);
      inFlight = false;
      dialog.close();
      onSuccess(data, replayed);
    } catch (error) {
      inFlight = false;
      setBusy(false);
      showProblem(error);
    }
  });

  function setBusy(busy) {
    submit.disabled = busy;
    cancel.disabled = busy;
    submit.textContent = busy ? "Working…" : declaration.title;
    dialog.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function showProblem(error) {
    for (const field of fields) field.setError(null);
    problem.replaceChildren();
    problem.hidden = !error;
    if (!error) return;
    if (error.code === "identity_not_confirmed" && !identity) {
      // The panel did not say the customer is unverified, but the host found them so.
      identity = identityField();
      problem.before(identity.node);
    }
    problem.append(el("strong", { className: "dialog-problem__detail", text: error.detail || String(error) }));
    const unmatched = [];
    for (const item of error.errors || []) {
      const name = String(item.field || "").split(".")[0];
      const field = fields.find((f) => f.name === name);
      // The field is marked either way; its message is repeated only if it adds something.
      if (field) field.setError(item.message === error.detail ? "" : item.message, true);
      if (!field || !field.visible) unmatched.push(item);
    }
    if (unmatched.length) {
      problem.append(
        el(
          "ul",
          { className: "dialog-problem__errors" },
          unmatched.map((item) => el("li", {}, el("code", { text: item.field || "(body)" }), `: ${item.message}`)),
        ),
      );
    }
  }

  document.body.append(dialog);
  dialog.showModal();
  dialog.scrollTop = 0;
  if (!dialog.contains(document.activeElement)) (firstFocusable(dialog) || dialog).focus();
  return dialog;
}

const FOCUSABLE = "button, input, select, textarea, a[href], [tabindex]:not([tabindex='-1'])";

function focusables(dialog) {
  return [...dialog.querySelectorAll(FOCUSABLE)].filter((node) => !node.disabled && node.getClientRects().length > 0);
}

function firstFocusable(dialog) {
  return focusables(dialog)[0] || null;
}

// A modal dialog makes the page inert, but browsers still let Tab leave it for their own
// toolbar; wrapping keeps the keyboard in the dialog until it closes.
function trapTab(dialog, event) {
  if (event.key !== "Tab") return;
  const nodes = focusables(dialog);
  if (nodes.length === 0) return;
  const first = nodes[0];
  const last = nodes[nodes.length - 1];
  if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

/** A random UUID; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function newIdempotencyKey() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Follow $ref into $defs and unwrap `X | None` (anyOf with null). */
function resolve(raw, root) {
  let schema = raw || {};
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop();
    schema = { ...((root.$defs || {})[name] || {}), ...withoutKey(schema, "$ref") };
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length === 1) {
    schema = { ...resolve(schema.allOf[0], root), ...withoutKey(schema, "allOf") };
  }
  if (Array.isArray(schema.anyOf)) {
    const options = schema.anyOf.filter((s) => s.type !== "null");
    if (options.length === 1) {
      schema = { ...resolve(options[0], root), ...withoutKey(schema, "anyOf"), nullable: true };
    }
  }
  // Labelled choices: oneOf [{const, title}, ...] (a plugin's way to name Literal values).
  const labelled = schema.oneOf || schema.anyOf;
  if (Array.isArray(labelled) && labelled.length && labelled.every((s) => s.const !== undefined)) {
    schema = {
      ...withoutKey(withoutKey(schema, "oneOf"), "anyOf"),
      enum: labelled.map((s) => s.const),
      enumLabels: labelled.map((s) => s.title || humanize(s.const)),
    };
  }
  return schema;
}

function withoutKey(object, key) {
  const copy = { ...object };
  delete copy[key];
  return copy;
}

function labelFor(name, schema) {
  // Pydantic titles are the field name in Title Case; sentence case reads better in a form.
  const auto = name.replace(/_/g, " ").replace(/\b\w/g, (c) => c.toUpperCase());
  return schema.title && schema.title !== auto ? schema.title : humanize(name);
}

function initialValue(name, schema, prefill) {
  if (Object.prototype.hasOwnProperty.call(prefill, name)) return prefill[name];
  return schema.default;
}

function buildField(name, schema, isRequired, prefill) {
  const id = `field-${name}-${Math.random().toString(36).slice(2, 8)}`;
  const label = labelFor(name, schema);
  const value = initialValue(name, schema, prefill);
  const help = schema.description ? el("p", { className: "field__help", text: schema.description, id: `${id}-help` }) : null;
  const error = el("p", { className: "field__error", hidden: true, id: `${id}-error` });
  const describedBy = [help ? `${id}-help` : null, `${id}-error`].filter(Boolean).join(" ");
  const field = { name, visible: true, node: null, collect: () => {}, inputs: [] };

  if (Array.isArray(schema.enum)) {
    buildEnum(field, { id, name, label, schema, value, isRequired, help, error, describedBy });
  } else if (schema.const !== undefined) {
    field.visible = false;
    field.node = el("span", { hidden: true });
    field.collect = (payload) => {
      payload[name] = schema.const;
    };
  } else if (schema.type === "boolean") {
    const input = el("input", { type: "checkbox", id, name, checked: value === true, attrs: { "aria-describedby": describedBy } });
    field.inputs = [input];
    field.node = el(
      "div",
      { className: "field field--checkbox", dataset: { field: name } },
      input,
      el("div", {}, el("label", { htmlFor: id, text: label }), help, error),
    );
    field.collect = (payload) => {
      payload[name] = input.checked;
    };
  } else if (schema.type === "integer" || schema.type === "number") {
    const input = el("input", {
      type: "number",
      id,
      name,
      required: isRequired,
      step: schema.multipleOf ?? (schema.type === "integer" ? 1 : "any"),
      attrs: { min: schema.minimum ?? schema.exclusiveMinimum, max: schema.maximum ?? schema.exclusiveMaximum, "aria-describedby": describedBy },
    });
    if (typeof value === "number") input.value = String(value);
    field.inputs = [input];
    field.node = textLikeField(name, id, label, input, isRequired, help, error);
    field.collect = (payload) => {
      if (input.value === "") {
        if (schema.nullable) payload[name] = null;
        return;
      }
      payload[name] = Number(input.value);
    };
  } else if (schema.type === "string" || schema.type === undefined) {
    const long = (schema.maxLength ?? 0) > 200;
    const input = el(long ? "textarea" : "input", {
      id,
      name,
      required: isRequired,
      attrs: {
        type: long ? null : inputType(schema.format),
        minlength: schema.minLength,
        maxlength: schema.maxLength,
        rows: long ? 3 : null,
        autocomplete: "off",
        "aria-describedby": describedBy,
      },
    });
    if (value !== undefined && value !== null) input.value = String(value);
    field.inputs = [input];
    field.node = textLikeField(name, id, label, input, isRequired, help, error);
    field.collect = (payload) => {
      if (input.value === "" && !isRequired) {
        if (schema.nullable && Object.prototype.hasOwnProperty.call(prefill, name)) payload[name] = null;
        return;
      }
      payload[name] = input.value;
    };
  } else {
    // Arrays and objects have no form control here: send the pre-filled value untouched.
    field.visible = false;
    field.node = el("span", { hidden: true });
  }

  field.setError = (message, invalid = Boolean(message)) => {
    error.hidden = !message;
    error.textContent = message || "";
    for (const input of field.inputs) input.toggleAttribute("aria-invalid", invalid);
  };
  return field;
}

function inputType(format) {
  return { email: "email", uri: "url", date: "date" }[format] || "text";
}

function textLikeField(name, id, label, input, isRequired, help, error) {
  return el(
    "div",
    { className: "field", dataset: { field: name } },
    el("label", { htmlFor: id }, label, isRequired ? el("span", { className: "required-mark", text: " *" }) : null),
    input,
    help,
    error,
  );
}

function buildEnum(field, { id, name, label, schema, value, isRequired, help, error, describedBy }) {
  const choices = schema.enum;
  const choiceLabel = (index) => (schema.enumLabels ? schema.enumLabels[index] : humanize(choices[index]));
  const chosen = choices.findIndex((c) => c === value);
  if (choices.length <= RADIO_LIMIT) {
    const radios = choices.map((choice, index) => {
      const input = el("input", { type: "radio", id: `${id}-${index}`, name, value: String(index), checked: index === chosen, required: isRequired });
      return { input, node: el("label", { className: "radio", htmlFor: `${id}-${index}` }, input, el("span", { text: choiceLabel(index) })) };
    });
    field.inputs = radios.map((r) => r.input);
    field.node = el(
      "fieldset",
      { className: "field field--radios", dataset: { field: name }, attrs: { "aria-describedby": describedBy } },
      el("legend", {}, label),
      el("div", { className: "radios" }, radios.map((r) => r.node)),
      help,
      error,
    );
    field.collect = (payload) => {
      const checked = radios.find((r) => r.input.checked);
      if (checked) payload[name] = choices[Number(checked.input.value)];
    };
    return;
  }
  const select = el(
    "select",
    { id, name, required: isRequired, attrs: { "aria-describedby": describedBy } },
    chosen < 0 ? el("option", { value: "", text: "Choose…" }) : null,
    choices.map((choice, index) => el("option", { value: String(index), text: choiceLabel(index), selected: index === chosen })),
  );
  field.inputs = [select];
  field.node = textLikeField(name, id, label, select, isRequired, help, error);
  field.collect = (payload) => {
    if (select.value !== "") payload[name] = choices[Number(select.value)];
  };
}

function identityField() {
  const id = `identity-${Math.random().toString(36).slice(2, 8)}`;
  const input = el("input", { type: "checkbox", id, name: "identity_confirmed", required: true });
  const node = el(
    "div",
    { className: "identity-check", dataset: { field: "identity_confirmed" } },
    el("p", {
      className: "identity-check__why",
      text: "This customer is NOT VERIFIED: they were matched by something uncertain, such as the email address.",
    }),
    el(
      "div",
      { className: "field field--checkbox" },
      input,
      el("label", { htmlFor: id }, "I confirmed the customer's identity", el("span", { className: "required-mark", text: " *" })),
    ),
  );
  return { node, checked: () => input.checked };
}
