// The push session (docs/PROTOCOL.md §2.1, §4, §5.6; §6 is its plain form): this browser dials
// the monitor with its own RTCPeerConnection, answers every ping at once, reports, and dials
// again by itself with capped exponential backoff and jitter. A wake-up (the network is back,
// the PC woke from sleep, the page is shown again) cuts a wait short and checks at once that
// the current connection still hears pings.
import { bearer, call, problemDetail } from './http.js';
import { candidateErrors, iceConfig, learnIce, relayProblem } from './ice.js';

export const VERSION = 'bridgewatch-web-agent/0.3.0'; // 0.3: camera and microphone verdicts
const LABEL = 'bridgewatch';
const IDLE_MS = 10_000; // no ping for this long: the monitor is gone (§5.6)
const SETUP_MS = 15_000; // each set-up step, as the Python agent
const GATHER_MS = 5_000; // no trickle ICE: wait for the candidates, within a cap
const REPORT_MS = 30_000;
const REPEAT_MS = 5_000; // a changed report goes again this soon (the channel never resends)
const BACKOFF_CAP_S = 30;
const TICK_MS = 1_000;

/** Why a set-up failed: network, server, refused (401/403/404), disabled (409) or setup. */
export class SessionError extends Error {
  constructor(kind, status = null, detail = '') {
    super([kind, status, detail].filter(Boolean).join(' '));
    this.kind = kind;
    this.status = status;
    this.detail = detail;
  }
}

/** Seconds to wait after `failures` set-ups failed in a row (0 after a session that worked). */
export function backoffSeconds(failures, random = Math.random) {
  return Math.min(BACKOFF_CAP_S, 2 ** Math.max(0, failures - 1)) * (0.5 + random() / 2);
}

/**
 * The site's agent. `reportFields()` gives what a report says besides the version (attendance,
 * the camera's and the microphone's verdicts). `onChange(state)` hears every change of
 *   { phase: idle | connecting | connected | waiting | refused | stopped,
 *     since, retryAt, error: SessionError | { kind: 'lost' } | null,
 *     lastPingAt, reportedAt, reported }
 * (times from Date.now()).
 */
export function createPushSession({ credential, reportFields, onChange }) {
  const endpoint = new URL(
    `/api/v1/agents/${encodeURIComponent(credential.site_code)}/sessions`,
    location.href,
  ).href;
  const auth = bearer(credential.secret);
  const state = {
    phase: 'idle',
    since: null,
    retryAt: null,
    error: null,
    lastPingAt: null,
    reportedAt: null,
    reported: null,
  };
  let running = false;
  let generation = 0; // a stop and a start again: the old loop must not go on
  let link = null; // the connection being set up or open
  let wakeUp = null; // cuts the current wait short

  function set(patch) {
    Object.assign(state, patch);
    onChange({ ...state });
  }

  function sendReport(current) {
    const fields = reportFields();
    current.channel.send(JSON.stringify({ type: 'report', version: VERSION, ...fields }));
    current.nextReportAt = performance.now() + REPORT_MS;
    set({ reportedAt: Date.now(), reported: fields });
  }

  function connect() {
    const config = iceConfig(credential); // the freshest the monitor gave (ice.js)
    const pc = new RTCPeerConnection(config);
    // Unordered, never resent: a lost ping must count as lost (§1).
    const channel = pc.createDataChannel(LABEL, { ordered: false, maxRetransmits: 0 });
    const current = {
      pc,
      channel,
      config,
      candidateErrors: candidateErrors(pc),
      location: null,
      pinged: false,
      lastPing: 0, // performance.now(): does not jump with the wall clock
      lastPingWall: 0, // Date.now(): goes on while the PC sleeps
      nextReportAt: Infinity,
      end: () => {},
    };
    // Set before the channel opens: the first ping comes at once.
    channel.addEventListener('message', (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message?.type !== 'ping') return;
      channel.send(JSON.stringify({ type: 'pong', seq: message.seq, t: message.t })); // at once
      current.lastPing = performance.now();
      current.lastPingWall = Date.now();
      if (!current.pinged) {
        current.pinged = true; // the monitor listens now: the first report is not lost
        sendReport(current);
      }
      set({ lastPingAt: current.lastPingWall });
    });
    return current;
  }

  /** One session: resolves when a session that opened ends; throws a SessionError if set-up
   * fails. */
  async function session(alive) {
    const current = connect();
    link = current;
    const { pc, channel } = current;
    let timer = null;
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, GATHER_MS);
      if (!alive()) return;
      // Relay only, and the TURN server gave no candidate: say why rather than post an offer
      // nobody can reach. The status poll meanwhile brings fresh credentials for the retry.
      const relay = relayProblem(pc, current.config, current.candidateErrors);
      if (relay) throw new SessionError(relay);
      const response = await call(
        endpoint,
        {
          method: 'POST',
          body: pc.localDescription.sdp,
          headers: { ...auth, 'Content-Type': 'application/sdp' },
        },
        SETUP_MS + 5_000,
      );
      if (response === null) throw new SessionError('network');
      if (response.status !== 201) throw await refusal(response);
      learnIce(credential, { links: response.headers.get('Link') }); // for the next dial
      current.location = new URL(response.headers.get('Location'), endpoint).href;
      if (!alive()) return;
      await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
      await opened(channel, pc, SETUP_MS);
      if (!alive()) return; // stopped meanwhile: leave at once
      current.lastPing = performance.now();
      current.lastPingWall = Date.now();
      set({ phase: 'connected', since: Date.now(), retryAt: null, error: null });
      await new Promise((resolve) => {
        current.end = resolve;
        channel.addEventListener('close', resolve);
        pc.addEventListener('connectionstatechange', () => {
          if (['failed', 'closed'].includes(pc.connectionState)) resolve();
        });
        const check = () => {
          if (channel.readyState !== 'open' || idle(current)) resolve();
          else if (current.pinged && performance.now() >= current.nextReportAt) {
            sendReport(current);
          }
        };
        current.check = check;
        timer = setInterval(check, TICK_MS);
      });
    } finally {
      clearInterval(timer);
      if (link === current) link = null;
      pc.close();
      if (current.location) {
        // Leaving cleanly: the monitor ends the session at once. Kept alive past a page close.
        fetch(current.location, { method: 'DELETE', headers: auth, keepalive: true }).catch(
          () => {},
        );
      }
    }
  }

  async function run(mine) {
    const alive = () => running && generation === mine;
    let failures = 0;
    while (alive()) {
      set({ phase: 'connecting', retryAt: null });
      try {
        await session(alive);
        failures = 0;
        if (!alive()) return;
        set({ error: { kind: 'lost' } });
      } catch (caught) {
        if (!alive()) return;
        const error =
          caught instanceof SessionError ? caught : new SessionError('setup', null, String(caught));
        if (error.kind === 'refused') {
          running = false;
          set({ phase: 'refused', error, retryAt: null });
          return;
        }
        failures += 1;
        set({ error });
      }
      if (!alive()) return;
      const delay = backoffSeconds(failures) * 1000;
      set({ phase: 'waiting', retryAt: Date.now() + delay });
      await new Promise((resolve) => {
        const timeout = setTimeout(resolve, delay);
        wakeUp = () => {
          clearTimeout(timeout);
          resolve();
        };
      });
      wakeUp = null;
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      run(++generation);
    },
    /** Leaves: closes the connection and tells the monitor (DELETE). */
    stop() {
      running = false;
      wakeUp?.();
      link?.end();
      set({ phase: 'stopped', retryAt: null });
    },
    /** The network is back, the PC woke up or the page is shown again: do not wait. */
    wake() {
      wakeUp?.();
      link?.check?.();
    },
    /** Sends a report now if the monitor listens (true), else with the next session's first. */
    report() {
      const current = link;
      if (!current?.pinged || current.channel.readyState !== 'open') return false;
      sendReport(current);
      current.nextReportAt = performance.now() + REPEAT_MS;
      return true;
    },
    get state() {
      return { ...state };
    },
  };
}

/** No ping for IDLE_MS by either clock: a suspended PC stops the monotonic one. */
function idle(current) {
  return (
    performance.now() - current.lastPing > IDLE_MS || Date.now() - current.lastPingWall > IDLE_MS
  );
}

function gathered(pc, capMs) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
    setTimeout(resolve, capMs); // a dead STUN/TURN server must not stall us for ever
  });
}

function opened(channel, pc, capMs) {
  return new Promise((resolve, reject) => {
    if (channel.readyState === 'open') return resolve();
    const fail = () => reject(new SessionError('setup'));
    channel.addEventListener('open', resolve);
    channel.addEventListener('close', fail);
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') fail();
    });
    setTimeout(fail, capMs);
  });
}

async function refusal(response) {
  const detail = await problemDetail(response);
  const { status } = response;
  if ([401, 403, 404].includes(status)) return new SessionError('refused', status, detail);
  if (status === 409) return new SessionError('disabled', status, detail);
  return new SessionError('server', status, detail);
}
