// Calls to the REST API with the user's token; failures carry the server's problem `detail`.
import { t } from './i18n.js';
import { getToken } from './token.js';

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, t('error.network'));
  }
  if (!response.ok) throw new ApiError(response.status, await problemDetail(response));
  return response.status === 204 ? null : response.json();
}

/** The `detail` of an application/problem+json answer, or a short fallback. */
export async function problemDetail(response) {
  try {
    const body = await response.json();
    if (body && typeof body.detail === 'string') return body.detail;
  } catch {
    // not JSON: fall through to the status
  }
  return t('error.http', { status: response.status });
}

export function acknowledge(incidentId, note) {
  return request('POST', `/api/v1/incidents/${incidentId}/ack`, { note });
}

export function samplesSince(code, since) {
  const query = new URLSearchParams({ since: since.toISOString(), limit: '400' });
  return request('GET', `/api/v1/sites/${encodeURIComponent(code)}/samples?${query}`);
}
