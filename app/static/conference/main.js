// The conference view (/conference?id=N), made to be opened by URL on a wall screen and left:
// it reads the REST API every few seconds (each read bounded, the next one scheduled after the
// last ended), shows the phase the service computes and switches its board with it: readiness
// before the start, the live board with attendance, the totals once ended. Operators also get
// start / extend / end, the attendance form, and re-checks on the readiness board.
import { createAuth } from '../js/auth.js';
import { setText } from '../js/dom.js';
import { countdownText, nextSwitch, renderHead } from './head.js';
import { renderReadiness } from './board.js';
import { renderEnded } from './ended.js';
import { conferenceId, conferencePath, read } from './http.js';
import { onLangChange, t, toggleLang, translate } from './i18n.js';
import { renderLive } from './live.js';
import { createOperator, mayOperate } from './operator.js';
import { createRechecks } from './recheck.js';
import { clockIn } from './zone.js';

const REFRESH_MS = 5000;
const ENDED_REFRESH_MS = 60_000; // the figures are final: a slow check that nothing changed
const byId = (id) => document.getElementById(id);
const id = conferenceId();
const message = byId('message');
const views = { readiness: byId('readiness'), live: byId('live'), ended: byId('ended') };

const model = {
  conference: null,
  board: null,
  attendance: null,
  report: null,
  at: null, // when the page last heard from the service (the screen's clock)
  offset: 0, // the service's clock minus the screen's
  switched: null, // the phase whose start the countdown last reached
};
let timer = null;
let allowed = false;

translate();
byId('lang-switch').addEventListener('click', toggleLang);
const auth = createAuth(() => {
  checkOperator();
  refresh();
});
auth.relabel();
const operator = createOperator(byId('operator'), {
  id,
  dialog: byId('confirm'),
  changed: () => refresh(), // the new phase and its board at once, not at the next tick
  saved: () => refresh(),
});

const rechecks = createRechecks(views.readiness, { id, refresh: () => refresh() });

function say(text) {
  setText(message, text);
  message.hidden = !text;
}

async function load() {
  const path = conferencePath(id);
  const conference = await read(path);
  const phase = conference.phase;
  const wanted = {
    board: phase !== 'ended' ? read(`${path}/readiness`) : null,
    attendance: phase === 'live' || phase === 'ended' ? read(`${path}/attendance`) : null,
    report: phase === 'ended' ? read(`${path}/report`) : null,
  };
  const [board, attendance, report] = await Promise.all(Object.values(wanted));
  Object.assign(model, { conference, board, attendance, report, at: Date.now() });
  if (board) model.offset = new Date(board.at).getTime() - Date.now();
}

// One read at a time: a refresh asked while one runs is done right after it, and only one timer
// is ever pending, however often operators' actions and the countdown ask.
let running = false;
let again = false;

async function refresh() {
  if (running) {
    again = true;
    return;
  }
  running = true;
  clearTimeout(timer);
  try {
    await load();
    say('');
    draw();
  } catch (error) {
    failed(error);
  } finally {
    running = false;
  }
  if (again) {
    again = false;
    refresh();
    return;
  }
  const ended = model.conference?.phase === 'ended';
  timer = setTimeout(refresh, ended ? ENDED_REFRESH_MS : REFRESH_MS);
}

function failed(error) {
  if (error.status === 401) {
    auth.unauthorized(error.message);
    say(t('page.signIn'));
  } else if (error.status === 404) {
    say(t('page.notFound'));
  } else if (model.conference) {
    say(t('page.stale', { time: clockIn(model.at, model.conference.time_zone) }));
  } else {
    say(t('page.failed', { detail: error.message }));
  }
}

function draw() {
  const { conference, board, attendance, report } = model;
  if (!conference) return;
  byId('conference').hidden = false;
  renderHead(byId('head'), conference);
  const phase = conference.phase;
  views.readiness.hidden = !(phase === 'planned' || phase === 'preflight');
  views.live.hidden = phase !== 'live';
  views.ended.hidden = phase !== 'ended';
  if (!views.readiness.hidden) {
    const recheck = allowed ? rechecks.one : null;
    renderReadiness(views.readiness, board, now(), { timeZone: conference.time_zone, recheck });
  }
  rechecks.show(allowed);
  if (!views.live.hidden) renderLive(views.live, attendance, board);
  if (!views.ended.hidden) renderEnded(views.ended, report, attendance);
  const sites = conference.sites.map((s) => ({ code: s.site_code, name: s.site_name }));
  if (allowed) operator.show(phase, sites);
  else byId('operator').hidden = true;
  setText(byId('updated'), t('page.updated', { time: clockIn(model.at, conference.time_zone) }));
  tick();
}

const now = () => Date.now() + model.offset;

/** Every second: the countdown; at zero, a read of the new phase. */
function tick() {
  const { conference } = model;
  if (!conference) return;
  setText(byId('countdown'), countdownText(conference, now()));
  const next = nextSwitch(conference);
  if (next && new Date(next.at).getTime() <= now() && model.switched !== next.phase) {
    model.switched = next.phase; // one read per switch, whatever the service then says
    refresh();
  }
}

/** Whether this token may operate, asked again whenever the token changes. */
async function checkOperator() {
  allowed = await mayOperate();
  draw();
}

onLangChange(() => {
  draw();
  auth.relabel();
});

if (id === null) {
  say(t('page.noId'));
} else {
  say(t('page.loading'));
  setInterval(tick, 1000);
  checkOperator();
  refresh();
}
