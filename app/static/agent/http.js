// Small HTTP helpers: every call stays on this page's origin (connect-src 'self'), has a time
// limit, and reads a refusal's `detail` (application/problem+json) when there is one.

/** `fetch` that never hangs: a network failure or a timeout resolves to null. */
export async function call(url, options = {}, timeoutMs = 15000) {
  try {
    return await fetch(url, { cache: 'no-store', ...options, signal: AbortSignal.timeout(timeoutMs) });
  } catch {
    return null;
  }
}

/** The `detail` of a problem response, or its status line. */
export async function problemDetail(response) {
  try {
    const body = await response.json();
    if (typeof body?.detail === 'string') return body.detail;
  } catch {
    // not JSON: fall through
  }
  return `${response.status} ${response.statusText}`.trim();
}

export function bearer(secret) {
  return { Authorization: `Bearer ${secret}` };
}
