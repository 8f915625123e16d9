// Shared by /dashboard and /demo: calls to the API with the server's token, when it has one. The token
// is asked for on the first 401 and kept in sessionStorage (this tab only, gone when it closes); it is
// sent as a Bearer header, never in a URL.

const TOKEN_KEY = "readstate.apiToken";

export function apiToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? "http_error";
  }
}

/** One call to the API; JSON in and out. A 401 asks for the token, then tries again. */
export async function api(method, path, body) {
  for (;;) {
    const headers = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    const token = apiToken();
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) {
      await askForToken(token ? "That token was refused. The server's API token:" : undefined);
      continue;
    }
    const text = await response.text();
    const parsed = text ? JSON.parse(text) : undefined;
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed;
  }
}

let asking;

/** Shows one dialog however many calls were refused at once; resolves when a token was entered. */
export function askForToken(message) {
  asking ??= new Promise((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.className = "token-dialog";
    const form = document.createElement("form");
    const label = document.createElement("label");
    label.textContent =
      message ?? "This server needs its API token (READSTATE_API_TOKEN). It stays in this tab only:";
    const input = document.createElement("input");
    input.type = "password";
    input.name = "token";
    input.autocomplete = "off";
    input.required = true;
    const button = document.createElement("button");
    button.type = "submit";
    button.textContent = "Use token";
    label.append(input);
    form.append(label, button);
    dialog.append(form);
    document.body.append(dialog);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      dialog.close();
      dialog.remove();
      asking = undefined;
      resolve();
    });
    dialog.showModal();
  });
  return asking;
}

/** An element with a class and text, the pages' one way to build DOM (never innerHTML with data). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = String(text);
  return node;
}
