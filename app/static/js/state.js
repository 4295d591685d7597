// The page's copy of the service's state: sites by code, incidents by id, and who we are.
// The stream feeds it; views subscribe and redraw only what changed.
import { shownStatus } from './status.js';

const MAX_CLOSED_INCIDENTS = 200; // the page runs for days: forget old closed incidents

export const state = {
  sites: new Map(),
  incidents: new Map(),
  me: null,
  heard: false, // a first snapshot arrived: until then nothing on screen is the service's word
};

const listeners = { snapshot: new Set(), sites: new Set(), incidents: new Set() };

/**
 * snapshot(): everything was replaced. sites(codes, wentDown): those sites changed; wentDown
 * lists the ones that just turned down. incidents(ids): those incidents changed.
 */
export function subscribe(kind, listener) {
  listeners[kind].add(listener);
}

function emit(kind, ...args) {
  for (const listener of listeners[kind]) {
    try {
      listener(...args);
    } catch (error) {
      console.error(error);
    }
  }
}

export function applySnapshot(data) {
  state.sites = new Map(data.sites.map((site) => [site.code, site]));
  state.incidents = new Map(data.incidents.map((incident) => [incident.id, incident]));
  state.me = data.me;
  state.heard = true;
  emit('snapshot');
}

/**
 * Merges the sites an update carries (each in its full current state); returns nothing,
 * listeners learn which codes changed.
 */
export function applyUpdate(data) {
  const changed = [];
  const wentDown = [];
  for (const patch of data.sites) {
    const site = state.sites.get(patch.code);
    // A site created after the snapshot has no tile yet: it appears with the next snapshot.
    if (!site) continue;
    const before = shownStatus(site);
    Object.assign(site, patch);
    changed.push(site.code);
    if (shownStatus(site) === 'down' && before !== 'down') wentDown.push(site);
  }
  if (changed.length) emit('sites', changed, wentDown);
}

export function applyIncident(data) {
  const { state: _change, ...incident } = data;
  state.incidents.set(incident.id, incident);
  forgetOldIncidents();
  emit('incidents', [incident.id]);
}

function forgetOldIncidents() {
  const closed = [...state.incidents.values()].filter((i) => i.closed_at);
  if (closed.length <= MAX_CLOSED_INCIDENTS) return;
  closed.sort((a, b) => Date.parse(b.closed_at) - Date.parse(a.closed_at));
  for (const old of closed.slice(MAX_CLOSED_INCIDENTS)) state.incidents.delete(old.id);
}

export function canAcknowledge() {
  const me = state.me;
  return Boolean(me && !me.anonymous && (me.role === 'operator' || me.role === 'admin'));
}
