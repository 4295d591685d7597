// Reads of the REST API for pages left open for days: each within a time limit (a request that
// hangs on a dead link must not stall the refreshes behind it), with the dashboard's token and
// its errors (the server's problem `detail`). Writes go through the dashboard's api.js.
import { ApiError, problemDetail } from '../js/api.js';
import { t } from '../js/i18n.js';
import { getToken } from '../js/token.js';

export const READ_TIMEOUT_MS = 8000;

export async function read(path) {
  const headers = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      headers, cache: 'no-store', signal: AbortSignal.timeout(READ_TIMEOUT_MS),
    });
  } catch {
    throw new ApiError(0, t('error.network'));
  }
  if (!response.ok) throw new ApiError(response.status, await problemDetail(response));
  return response.json();
}

/** The conference's id from ?id=N, or null. */
export function conferenceId() {
  const id = new URLSearchParams(location.search).get('id');
  return /^\d{1,10}$/.test(id ?? '') ? Number(id) : null;
}

export const conferencePath = (id) => `/api/v1/conferences/${id}`;
