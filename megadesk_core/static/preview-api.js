// The agent API as the page uses it: bearer token, JSON in and out, RFC 9457 problems as errors.

/** An error the page can show: `detail` is the API's message, `errors` its field errors. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || `The request failed (HTTP ${status}).`);
    this.status = status;
    this.code = problem.code || "error";
    this.detail = this.message;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
  }
}

export function createApi({ getToken, onUnauthorized }) {
  async function request(method, path, { params, body, headers = {} } = {}) {
    const url = new URL(path, window.location.origin);
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
    }
    const init = {
      method,
      headers: { Accept: "application/json", Authorization: `Bearer ${getToken()}`, ...headers },
      credentials: "omit",
      cache: "no-store",
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      throw new ApiError(0, {
        code: "network_error",
        detail: "Could not reach the Megadesk Integrations server. Check your connection and try again.",
      });
    }
    const data = await readJson(response);
    if (!response.ok) {
      const error = new ApiError(response.status, data && typeof data === "object" ? data : {});
      if (response.status === 401 && onUnauthorized) onUnauthorized(error);
      throw error;
    }
    return { data, headers: response.headers };
  }

  return {
    async get(path, params) {
      return (await request("GET", path, { params })).data;
    },
    /** POST returning `{ data, replayed }`; `replayed` is true when the server replayed a stored result. */
    async post(path, body, { params, idempotencyKey } = {}) {
      const headers = idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {};
      const { data, headers: responseHeaders } = await request("POST", path, { params, body, headers });
      return { data, replayed: responseHeaders.get("Idempotent-Replayed") === "true" };
    },
  };
}

async function readJson(response) {
  const type = response.headers.get("Content-Type") || "";
  if (!type.includes("json")) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** A path segment, encoded: ticket ids and integration names go into URLs. */
export function seg(value) {
  return encodeURIComponent(String(value));
}
