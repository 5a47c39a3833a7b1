// The control plane from the browser: same origin, JSON. Changes carry the bearer token
// the user gives (kept for this tab only, in sessionStorage); a 401 asks for it again.

const TOKEN_KEY = "tradeloop.token";

export class ApiError extends Error {
  constructor(public readonly status: number, message: string) {
    super(message);
  }
}

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function askToken(reason = "This change needs the API token (TRADELOOP_API_TOKEN)."): string | null {
  const given = window.prompt(`${reason}\nIt is kept in this tab only.`, "");
  if (given) sessionStorage.setItem(TOKEN_KEY, given.trim());
  return given ? given.trim() : null;
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

async function parse(response: Response): Promise<unknown> {
  const text = await response.text();
  let body: unknown = text;
  try { body = text ? JSON.parse(text) : null; } catch { /* plain text */ }
  if (!response.ok) {
    const detail = (body && typeof body === "object" && ("detail" in body || "error" in body))
      ? String((body as Record<string, unknown>).detail ?? (body as Record<string, unknown>).error)
      : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, detail);
  }
  return body;
}

export async function get<T>(path: string): Promise<T> {
  return (await parse(await fetch(path, { headers: { accept: "application/json" } }))) as T;
}

/** A change: sent with the token; on 401 the user is asked once and it is retried. */
export async function send<T>(method: string, path: string, body?: unknown, retry = true): Promise<T> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const current = token();
  if (current) headers.authorization = `Bearer ${current}`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401 && retry) {
    forgetToken();
    if (askToken()) return send<T>(method, path, body, false);
  }
  return (await parse(response)) as T;
}
