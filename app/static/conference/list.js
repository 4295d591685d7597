// The list of conferences (/conferences), the way in from the dashboard's header: the live ones
// first, then those about to start (soonest first), then the ended (latest first); each opens
// its view, and its report once it has begun. Refreshed every half minute for a screen left on it.
import { createAuth } from '../js/auth.js';
import { el, setText } from '../js/dom.js';
import { read } from './http.js';
import { onLangChange, t, toggleLang, translate } from './i18n.js';
import { dateTimeIn, timeIn } from './zone.js';

const REFRESH_MS = 30_000;
const RANK = { live: 0, preflight: 1, planned: 2, ended: 3 };
const list = document.getElementById('conferences');
const message = document.getElementById('message');
let conferences = null;

translate();
document.getElementById('lang-switch').addEventListener('click', toggleLang);
const auth = createAuth(() => refresh());
auth.relabel();
onLangChange(() => {
  draw();
  auth.relabel();
});

/** Live, then the coming ones soonest first, then the ended latest first. */
export function ordered(items) {
  const at = (c) => new Date(c.starts_at).getTime();
  return [...items].sort((a, b) => RANK[a.phase] - RANK[b.phase]
    || (a.phase === 'ended' ? at(b) - at(a) : at(a) - at(b)));
}

function item(conference) {
  const zone = conference.time_zone;
  const view = `/conference?id=${conference.id}`;
  return el('li', { class: 'list-item', dataset: { conference: conference.id, phase: conference.phase } }, [
    el('a', { class: 'list-title', href: view }, conference.title),
    el('span', { class: 'list-phase' }, t(`phase.${conference.phase}`)),
    el('span', { class: 'list-when' },
      `${dateTimeIn(conference.starts_at, zone)}–${timeIn(conference.ends_at, zone)}`),
    el('span', { class: 'list-sites' }, t('list.sites', { n: conference.sites.length })),
    conference.phase === 'live' || conference.phase === 'ended'
      ? el('a', { href: `/conference/report?id=${conference.id}` }, t('list.report'))
      : null,
  ]);
}

function draw() {
  if (conferences === null) return;
  list.replaceChildren(...ordered(conferences).map(item));
  setText(message, conferences.length ? '' : t('list.none'));
}

async function refresh() {
  try {
    conferences = (await read('/api/v1/conferences?limit=200')).items;
    draw();
  } catch (error) {
    if (error.status === 401) {
      auth.unauthorized(error.message);
      setText(message, t('page.signIn'));
    } else {
      setText(message, t('page.failed', { detail: error.message }));
    }
  }
}

setText(message, t('page.loading'));
refresh();
setInterval(refresh, REFRESH_MS);
