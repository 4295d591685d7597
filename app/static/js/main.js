// Wires the page together: the stream feeds the state, the state tells the views what changed.
import { createAlerting } from './alerting.js';
import { createAuth } from './auth.js';
import { createCounters } from './counters.js';
import { currentLang, onLangChange, setLang, t, translateStatic } from './i18n.js';
import { createIncidents } from './incidents.js';
import { createMap } from './map.js';
import { createPanel } from './panel.js';
import { createFilters } from './search.js';
import { createStaleBanner } from './stale.js';
import {
  applyIncident,
  applySnapshot,
  applyUpdate,
  canAcknowledge,
  state,
  subscribe,
} from './state.js';
import { shownStatus } from './status.js';
import { LiveStream } from './stream.js';
import { createTiles } from './tiles.js';
import { getToken } from './token.js';

const byId = (id) => document.getElementById(id);
const sites = () => state.sites;

translateStatic();
const filters = createFilters(sites, () => {
  tiles.refilter();
  map.refilter();
  counters.update();
});
const tiles = createTiles(byId('tiles'), sites, filters, openSite);
const map = createMap(byId('map'), sites, filters, openSite);
const counters = createCounters(byId('counters'), sites, filters, () => state.heard);
const panel = createPanel(byId('site-panel'), sites, canAcknowledge);
const printLinks = byId('print-links');
// Join cards for the communes: those of the district chosen in the filter, or every site.
printLinks.addEventListener('click', () => {
  const parent = sites().has(filters.group()) ? filters.group() : '';
  window.open(`/links${parent ? `?parent=${encodeURIComponent(parent)}` : ''}`, '_blank');
});
const incidentLists = { open: byId('incidents-open'), closed: byId('incidents-closed') };
const incidents = createIncidents(incidentLists, {
  incidents: () => state.incidents,
  sites: () => state.sites,
  heard: () => state.heard,
  canAck: canAcknowledge,
  onOpenSite: openSite,
  onAcknowledged: (incident) => applyIncident({ ...incident, state: 'acknowledged' }),
});
const alerting = createAlerting(byId('mute-toggle'), downCount);
const stale = createStaleBanner(byId('stale-banner'));
const auth = createAuth(() => stream.restart());
const stream = new LiveStream('/api/v1/stream', getToken, {
  event: onStreamEvent,
  unauthorized: auth.unauthorized,
  activity: stale.activity,
  lost: stale.lost,
});

function onStreamEvent(type, data) {
  if (type === 'snapshot') applySnapshot(data);
  else if (type === 'update') applyUpdate(data);
  else if (type === 'incident') applyIncident(data);
  else if (type === 'health') stale.health(data);
  // `resync`: nothing to do, the fresh snapshot that follows replaces everything.
}

// A focused tile points at its site on the map (named even where a name finds no room).
byId('tiles').addEventListener('focusin', (event) => map.pointAt(siteOf(event.target)));
byId('tiles').addEventListener('focusout', () => map.pointAt(null));

function siteOf(node) {
  return node.closest('[data-site]')?.dataset.site ?? null;
}

function openSite(code) {
  panel.open(code);
}

// A notification's link (/?site=CODE) opens that site's panel once the sites are known.
let linkedSite = new URLSearchParams(location.search).get('site');

function downCount() {
  let count = 0;
  for (const site of sites().values()) count += shownStatus(site) === 'down' ? 1 : 0;
  return count;
}

// A snapshot after a reconnect usually describes the same sites: repaint them in place (focus
// and scroll stay where they were) and rebuild only when the topology itself changed.
let topology = '';
subscribe('snapshot', () => {
  const next = topologyOf(sites());
  if (next !== topology) {
    topology = next;
    filters.fillOptions();
    tiles.rebuild();
    map.rebuild();
  } else {
    tiles.update([...sites().keys()]);
    map.update([...sites().keys()]);
  }
  counters.draw();
  incidents.draw();
  auth.show(state.me);
  printLinks.hidden = !canAcknowledge();
  stale.fresh();
  panel.redraw();
  alerting.showTitle();
  if (linkedSite && sites().has(linkedSite)) openSite(linkedSite);
  linkedSite = null;
});

subscribe('sites', (codes, wentDown) => {
  tiles.update(codes);
  map.update(codes);
  counters.update();
  panel.update(codes);
  if (wentDown.length) alerting.sitesWentDown();
  else alerting.showTitle();
});

subscribe('incidents', () => incidents.update());

function topologyOf(all) {
  return [...all.values()]
    .map((s) => [s.code, s.name, s.level, s.parent_code, s.lat, s.lon].join('|'))
    .join('\n');
}

const langSwitch = byId('lang-switch');
function labelLangSwitch() {
  langSwitch.textContent = t('lang.switch');
  langSwitch.setAttribute('aria-label', t('lang.aria'));
  langSwitch.lang = currentLang() === 'vi' ? 'en' : 'vi'; // the label is in the other language
}
langSwitch.addEventListener('click', () => setLang(currentLang() === 'vi' ? 'en' : 'vi'));
labelLangSwitch();

onLangChange(() => {
  labelLangSwitch();
  filters.fillOptions();
  tiles.relabel();
  map.relabel();
  counters.draw();
  incidents.draw();
  panel.redraw();
  auth.relabel();
  stale.relabel();
  alerting.relabel();
});

stream.start();
