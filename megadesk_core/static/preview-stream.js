// The agent's sidebar stream (GET /api/v1/stream): server-sent events read with fetch, so the
// token stays in the Authorization header (EventSource cannot send one and would need it in the URL).

/**
 * Open the stream for `ticketIds`; calls onEvent(type, data) for each event until `signal`
 * aborts. Resolves when the stream ends; never rejects on abort.
 */
export async function openSidebarStream({ ticketIds, getToken, signal, onEvent }) {
  const url = new URL("/api/v1/stream", window.location.origin);
  for (const id of ticketIds) url.searchParams.append("ticket", id);
  let response;
  try {
    response = await fetch(url, {
      headers: { Accept: "text/event-stream", Authorization: `Bearer ${getToken()}` },
      credentials: "omit",
      cache: "no-store",
      signal,
    });
  } catch {
    return; // aborted, or the server is away: the plain sidebar still works
  }
  if (!response.ok || !response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
        dispatch(block, onEvent);
      }
    }
  } catch {
    // aborted (another ticket was opened) or the connection dropped
  }
}

function dispatch(block, onEvent) {
  let type = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(":")) continue; // a keep-alive comment
    const [field, ...rest] = line.split(":");
    const value = rest.join(":").replace(/^ /, "");
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return;
  try {
    onEvent(type, JSON.parse(data.join("\n")));
  } catch {
    // not JSON: not an event this page knows
  }
}
