// Building DOM safely, for the sidebar renderer and the preview page. Everything the API
// returns is text: it goes in through textContent (string children become text nodes) and
// never through innerHTML.

const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);

/**
 * Create an element.
 *   el("a", { className: "link", href, attrs: { rel: "noopener" }, on: { click } }, "text", child)
 * Strings and numbers become text nodes; null, undefined and false are skipped; arrays are flattened.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "attrs") for (const [name, v] of Object.entries(value)) setAttr(node, name, v);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "on") for (const [type, handler] of Object.entries(value)) node.addEventListener(type, handler);
    else if (key === "href") throw new Error("use link() for hrefs, so that every URL is checked");
    else node[key] = value;
  }
  append(node, children);
  return node;
}

function setAttr(node, name, value) {
  if (value === undefined || value === null || value === false) return;
  if (/^on/i.test(name) || name.toLowerCase() === "href" || name.toLowerCase() === "src") {
    throw new Error(`refusing to set ${name} as a plain attribute`);
  }
  node.setAttribute(name, value === true ? "" : String(value));
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** The URL if it is http(s) or mailto (what the panel schema allows), else null. */
export function safeHref(value) {
  if (typeof value !== "string") return null;
  try {
    const url = new URL(value);
    return SAFE_PROTOCOLS.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

/** A link that opens outside the page, or plain text when the URL is not allowed. */
export function link(href, text, props = {}) {
  const url = safeHref(href);
  if (url === null) return el("span", props, text);
  const a = el("a", { ...props, attrs: { ...(props.attrs || {}), rel: "noopener noreferrer", target: "_blank" } }, text);
  a.href = url;
  return a;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

/** "refund_latest_invoice" -> "Refund latest invoice". */
export function humanize(name) {
  const words = String(name).replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
