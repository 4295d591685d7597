// The monitor's verdict on this site, asked every few seconds with the site's own secret
// (GET /api/v1/agents/{code}/status): what the dashboard shows of it, for the site itself. Its
// answers also bring the ICE servers and policy to dial with next.
import { bearer, call } from './http.js';
import { learnIce } from './ice.js';

const EVERY_MS = 5_000;

/**
 * Polls until stopped. `onStatus(body, offsetMs)` gets each answer and how far the monitor's
 * clock is ahead of this PC's (`monitor_time`: a commune PC's clock may be wrong); `onProblem()`
 * hears that an answer did not come; `onRefused()` that the secret is no longer accepted (401).
 */
export function createStatusPoll({ credential, onStatus, onProblem, onRefused }) {
  const url = `/api/v1/agents/${encodeURIComponent(credential.site_code)}/status`;
  let timer = null;
  let running = false;
  let asking = false;

  async function ask() {
    if (!running || asking) return;
    asking = true;
    clearTimeout(timer);
    try {
      const sent = Date.now();
      const response = await call(url, { headers: bearer(credential.secret) }, EVERY_MS * 2);
      if (!running) return;
      if (response?.status === 401) {
        running = false;
        onRefused();
        return;
      }
      const body = response?.ok ? await response.json().catch(() => null) : null;
      if (body && typeof body.status === 'string') {
        // Fresh ICE servers and policy, for the session's next dial (ice.js).
        learnIce(credential, {
          links: response.headers.get('Link'),
          policy: body.ice_transport_policy,
        });
        const received = Date.now();
        const monitorTime = Date.parse(body.monitor_time);
        const offset = Number.isFinite(monitorTime) ? monitorTime - (sent + received) / 2 : 0;
        onStatus(body, offset);
      } else {
        onProblem(response?.status ?? null);
      }
    } finally {
      asking = false;
      if (running) timer = setTimeout(ask, EVERY_MS);
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      ask();
    },
    stop() {
      running = false;
      clearTimeout(timer);
    },
    /** Ask now (the session just connected, the network is back). */
    poke: ask,
  };
}
