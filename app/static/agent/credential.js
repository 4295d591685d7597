// Enrolment and the site's credential. An operator's link carries a one-time code in its
// fragment (/agent#enrol=CODE; a fragment never reaches a server or its logs). The page takes it
// out of the address bar and the history at once, trades it for the site's agent secret
// (POST /api/v1/agents/enrol) and keeps that in localStorage: the bookmarked /agent needs no
// new link. The secret is never put in a URL.
import { call, problemDetail } from './http.js';

const STORAGE_KEY = 'bw.agent.credential';
export const ENROL_URL = '/api/v1/agents/enrol';

/**
 * The enrolment code in the address, if any, removed from it (and from this history entry)
 * before anything else happens. `''` when the fragment names an empty code.
 */
export function takeEnrolCode() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (!fragment.has('enrol')) return null;
  history.replaceState(history.state, '', location.pathname + location.search);
  return fragment.get('enrol').trim();
}

/** The stored credential, or null (nothing stored, or something unusable). */
export function loadCredential() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY));
    if (usable(stored)) return { ice_servers: [], ...stored };
  } catch {
    // unreadable: as if nothing were stored
  }
  return null;
}

function usable(credential) {
  const text = (value) => typeof value === 'string' && value.length > 0;
  return (
    credential !== null &&
    typeof credential === 'object' &&
    text(credential.site_code) &&
    text(credential.secret) &&
    (credential.ice_servers === undefined || Array.isArray(credential.ice_servers))
  );
}

export function saveCredential(credential) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(credential));
  } catch {
    // storage full or refused: the page runs for this visit and needs the link next time
  }
}

/** Forgets the stored credential, unless another tab has stored a newer one meanwhile. */
export function forgetCredential(secret) {
  if (loadCredential()?.secret === secret) localStorage.removeItem(STORAGE_KEY);
}

/** Whether a `storage` event is about the credential. */
export function isCredentialChange(event) {
  return event.key === STORAGE_KEY || event.key === null;
}

/**
 * Trades `code` for the site's credential. Resolves to
 *   { credential }                                    enrolled (not yet stored)
 *   { refused: { kind, status, time, detail } }       the code is no good: ask for a new link
 *   { unreachable: true, status? }                    the server cannot be reached now: retry
 * `kind` is used, expired, withdrawn, unknown, malformed, disabled or other.
 */
export async function enrol(code) {
  if (!code) return { refused: { kind: 'malformed', status: 422, time: null, detail: '' } };
  const response = await call(ENROL_URL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  if (response === null) return { unreachable: true };
  if (response.status >= 500 || response.status === 429) {
    return { unreachable: true, status: response.status };
  }
  if (response.ok) {
    const body = await response.json();
    const credential = {
      site_code: body.site_code,
      site_name: body.site_name,
      secret: body.secret,
      ice_servers: Array.isArray(body.ice_servers) ? body.ice_servers : [],
      ice_transport_policy: body.ice_transport_policy === 'relay' ? 'relay' : 'all',
    };
    if (usable(credential)) return { credential };
    return { refused: { kind: 'other', status: response.status, time: null, detail: '' } };
  }
  const detail = await problemDetail(response);
  return { refused: { ...refusal(response.status, detail), status: response.status, detail } };
}

/** What a refusal means for the technician, from its status and the server's `detail`
 * ("this link was already used at 2026-11-24 08:00 UTC; ask the operator for a new one"). */
export function refusal(status, detail) {
  const when = /\bat (\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?: ?UTC|Z|[+-]\d\d:\d\d)?)/;
  const time = when.exec(detail)?.[1] ?? null;
  if (status === 410 && /\bexpired\b/i.test(detail)) return { kind: 'expired', time };
  if (status === 410 && /\bwithdrawn\b/i.test(detail)) return { kind: 'withdrawn', time };
  if (status === 410) return { kind: 'used', time };
  if (status === 404) return { kind: 'unknown', time: null };
  if (status === 422 || status === 400) return { kind: 'malformed', time: null };
  if (status === 409) return { kind: 'disabled', time: null };
  return { kind: 'other', time: null };
}
