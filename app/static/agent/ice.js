// The ICE servers and policy this page dials with. The monitor hands them out with TURN
// credentials that expire: in the enrolment's answer, then in the `Link` headers of every
// signaling answer and status answer (as WHIP does, RFC 9725 §4.6; docs/PROTOCOL.md §1). The
// freshest are kept with the credential: a page left open for days dials with good ones, and
// so does the bookmark opened tomorrow. No trickle ICE: they must be known before the offer.
import { loadCredential, saveCredential } from './credential.js';

const MAX_LINK_CHARS = 8192; // a header is untrusted input: read this much of it at most
const MAX_SERVERS = 16;
const ICE_URL = /^(stuns?|turns?):\S+$/i;
const POLICIES = new Set(['all', 'relay']);

/** What `new RTCPeerConnection(...)` is given for this credential. */
export function iceConfig(credential) {
  const policy = credential.ice_transport_policy;
  return {
    iceServers: credential.ice_servers ?? [],
    iceTransportPolicy: POLICIES.has(policy) ? policy : 'all',
  };
}

/**
 * Takes what the monitor just said: `links`, a response's `Link` header (null when it sent
 * none: it has no ICE server for us), and `policy`, a status's ice_transport_policy. Changes
 * the credential in place (the running session dials with it next) and in storage.
 */
export function learnIce(credential, { links, policy }) {
  const next = { ...credential };
  if (links !== undefined) next.ice_servers = parseIceLinks(links ?? '');
  if (POLICIES.has(policy)) next.ice_transport_policy = policy;
  const same = (key) => JSON.stringify(next[key]) === JSON.stringify(credential[key]);
  if (same('ice_servers') && same('ice_transport_policy')) return;
  Object.assign(credential, next);
  const stored = loadCredential();
  if (stored?.secret === credential.secret) {
    saveCredential({
      ...stored,
      ice_servers: credential.ice_servers,
      ice_transport_policy: credential.ice_transport_policy,
    });
  }
}

/** The ICE servers of a `Link` header (several links, comma-joined), as RTCIceServer objects;
 * links of other kinds, and servers no browser would take, are left out. */
export function parseIceLinks(header) {
  const scanner = new Scanner(String(header).slice(0, MAX_LINK_CHARS));
  const servers = [];
  for (let link = scanner.link(); link && servers.length < MAX_SERVERS; link = scanner.link()) {
    const server = iceServer(link);
    if (server) servers.push(server);
  }
  return servers;
}

function iceServer({ uri, params }) {
  if (!(params.rel ?? '').toLowerCase().split(/\s+/).includes('ice-server')) return null;
  if (!ICE_URL.test(uri)) return null;
  const { username, credential } = params;
  if (/^turns?:/i.test(uri) && !(username && credential)) return null; // refused by browsers
  const server = { urls: [uri] };
  if (username) server.username = username;
  if (credential) server.credential = credential;
  return server;
}

/** Reads one link after another; stops at the first thing it cannot read (RFC 8288 §3). */
class Scanner {
  constructor(text) {
    this.text = text;
    this.at = 0;
  }

  peek() {
    while (this.text[this.at] === ' ' || this.text[this.at] === '\t') this.at += 1;
    return this.text[this.at] ?? '';
  }

  until(stops) {
    const start = this.at;
    while (this.at < this.text.length && !stops.includes(this.text[this.at])) this.at += 1;
    return this.text.slice(start, this.at);
  }

  quoted() {
    let out = '';
    for (this.at += 1; this.at < this.text.length; ) {
      let char = this.text[this.at++];
      if (char === '"') return out;
      if (char === '\\' && this.at < this.text.length) char = this.text[this.at++];
      out += char;
    }
    return null; // never closed
  }

  param() {
    this.peek();
    const name = this.until(';,="<> \t').toLowerCase();
    if (!name) return null;
    if (this.peek() !== '=') return [name, ''];
    this.at += 1;
    if (this.peek() === '"') {
      const value = this.quoted();
      return value === null ? null : [name, value];
    }
    return [name, this.until(';, \t')];
  }

  link() {
    while (this.peek() === ',') this.at += 1;
    if (this.peek() !== '<') return null;
    this.at += 1;
    const uri = this.until('>').trim();
    if (this.at >= this.text.length) return null;
    this.at += 1;
    const params = {};
    while (this.peek() === ';') {
      this.at += 1;
      const param = this.param();
      if (!param) return null;
      if (!(param[0] in params)) params[param[0]] = param[1];
    }
    return ['', ','].includes(this.peek()) ? { uri, params } : null;
  }
}

/** The TURN servers' complaints while gathering (icecandidateerror: 401 is refused credentials). */
export function candidateErrors(pc) {
  const codes = [];
  pc.addEventListener('icecandidateerror', (event) => codes.push(event.errorCode));
  return codes;
}

/**
 * Why an offer would be useless: relay only, and no relay candidate was gathered. Then the
 * monitor could never reach us, and posting the offer would only replace nothing with nothing.
 * `refused`: the TURN server said 401 (credentials refused); `unreachable` otherwise.
 */
export function relayProblem(pc, config, codes) {
  if (config.iceTransportPolicy !== 'relay') return null;
  if (/\btyp relay\b/.test(pc.localDescription?.sdp ?? '')) return null;
  return codes.includes(401) ? 'relayRefused' : 'relayUnreachable';
}
