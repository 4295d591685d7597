// The agent page (/agent): a site joins by opening its operator's link, then stays a push agent
// for as long as the page is open. Wires the pieces together: enrolment and the stored
// credential (credential.js), the push session (session.js), the monitor's verdict
// (status.js), delegates present (attendance.js), the screen (wake.js) and what is shown
// (view.js), one tab at a time (tabs.js), and the room's own camera and microphone, watched
// here with the site's permission (media.js, shown by media-card.js).
import { createAttendance } from './attendance.js';
import {
  enrol,
  forgetCredential,
  isCredentialChange,
  loadCredential,
  saveCredential,
  takeEnrolCode,
} from './credential.js';
import { currentLang, onLangChange, setLang, translate } from './i18n.js';
import { createMediaCard } from './media-card.js';
import { alreadyAllowed, createMediaWatch } from './media.js';
import { backoffSeconds, createPushSession } from './session.js';
import { createStatusPoll } from './status.js';
import { asTheOnlyTab } from './tabs.js';
import { render } from './view.js';
import { keepScreenAwake } from './wake.js';

const byId = (id) => document.getElementById(id);

// First of all: the one-time code leaves the address bar and this history entry.
const enrolCode = takeEnrolCode();

const model = {
  credential: null,
  notice: null,
  welcome: false,
  session: { phase: 'idle', error: null },
  status: null,
  statusOffset: 0,
  statusAt: null,
  statusFailedSince: null,
  online: navigator.onLine,
  wake: null,
};
let agent = null; // { session, poll, attendance } once the site is known
let wakeEnrolment = null;

const draw = () => {
  model.online = navigator.onLine; // an event missed while asleep must not leave it stale
  render(model);
};

translate();
byId('lang-switch').addEventListener('click', () => setLang(currentLang() === 'vi' ? 'en' : 'vi'));
onLangChange(() => {
  draw();
  agent?.attendance.relabel();
  agent?.media.card.relabel();
});
keepScreenAwake((state) => {
  model.wake = state;
  draw();
});
setInterval(draw, 1000); // countdowns and "… ago"
draw();

await start();

async function start() {
  const stored = loadCredential();
  if (enrolCode !== null) {
    await enrolWith(enrolCode, stored);
  } else if (stored) {
    begin(stored);
  } else {
    model.welcome = true;
    draw();
  }
}

/** Trades the link's code for the credential; retries while the server cannot be reached. */
async function enrolWith(code, stored) {
  model.notice = { kind: 'working', title: ['enrol.working'], text: null, more: [] };
  draw();
  for (let failures = 1; ; failures += 1) {
    const result = await enrol(code);
    if (result.credential) {
      saveCredential(result.credential); // if the browser cannot keep it, this visit still runs
      model.notice = null;
      begin(result.credential);
      return;
    }
    if (result.refused) {
      refused(result.refused, stored);
      return;
    }
    const delay = backoffSeconds(failures) * 1000;
    const s = Math.ceil(delay / 1000);
    model.notice = { kind: 'working', title: ['enrol.retrying', { s }], text: null, more: [] };
    draw();
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, delay);
      wakeEnrolment = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    wakeEnrolment = null;
  }
}

/** A refused link: say why and what to do; a site already enrolled here carries on. */
function refused({ kind, time, status, detail }, stored) {
  const more = [kind === 'disabled' ? ['enrol.askEnable'] : ['enrol.ask']];
  if (stored) more.push(['enrol.keeping', { name: stored.site_name ?? stored.site_code }]);
  model.notice = {
    kind: 'refused',
    title: ['enrol.refused'],
    text: [`enrol.${kind}`, { time, day: true, status }],
    more,
    detail: detail || null,
  };
  if (stored) begin(stored);
  else draw();
}

/** Speaks for the site, once no other tab of this browser does. */
function begin(credential) {
  model.welcome = false;
  asTheOnlyTab(
    () => run(credential),
    () => {
      model.notice = { kind: 'elsewhere', title: ['elsewhere.title'], text: ['elsewhere.text'] };
      draw();
    },
  );
}

function run(credential) {
  if (model.notice?.kind === 'elsewhere') model.notice = null;
  model.credential = credential;
  const attendance = createAttendance(byId('attendance-form'), {
    site: credential.site_code,
    send: () => session.report(),
  });
  const media = watchTheRoom(() => session.report());
  const session = createPushSession({
    credential,
    reportFields: () => ({ ...attendance.fields(), ...media.watch.fields() }),
    onChange(state) {
      const connected = state.phase === 'connected' && model.session.phase !== 'connected';
      model.session = state;
      attendance.refresh(state);
      if (state.phase === 'refused') withdrawn();
      else if (connected) poll.poke(); // the verdict is about to change: ask now
      draw();
    },
  });
  const poll = createStatusPoll({
    credential,
    onStatus(body, offset) {
      Object.assign(model, {
        status: body,
        statusOffset: offset,
        statusAt: Date.now(),
        statusFailedSince: null,
      });
      draw();
    },
    onProblem() {
      model.statusFailedSince ??= Date.now();
      draw();
    },
    onRefused: withdrawn,
  });
  agent = { session, poll, attendance, media, credential };
  session.start();
  poll.start();
  draw();
}

/** The camera and microphone check; a changed verdict is reported at once (`report()`). */
function watchTheRoom(report) {
  let told = JSON.stringify({});
  const watch = createMediaWatch({
    preview: byId('media-preview'),
    onChange(state) {
      card.render(state);
      const { camera, microphone } = watch.fields();
      const verdicts = JSON.stringify({ camera, microphone });
      if (verdicts !== told) {
        told = verdicts;
        report(); // not connected: the next session's first report carries it
      }
    },
  });
  const card = createMediaCard({ onStart: () => watch.start() });
  // Allowed on an earlier visit: the check starts again by itself, with no click.
  alreadyAllowed().then((allowed) => allowed && watch.state.phase === 'off' && watch.start());
  return { watch, card };
}

/** The server no longer accepts this PC's secret (revoked, or enrolled on another PC). */
function withdrawn() {
  if (!agent) return;
  const { session, poll, media, credential } = agent;
  agent = null;
  media.watch.stop();
  poll.stop();
  session.stop();
  forgetCredential(credential.secret);
  model.credential = null;
  model.status = null;
  model.notice = {
    kind: 'revoked',
    title: ['revoked.title'],
    text: ['revoked.text'],
    more: [['enrol.ask']],
  };
  draw();
}

function wake() {
  model.online = navigator.onLine;
  wakeEnrolment?.();
  agent?.session.wake();
  agent?.poll.poke();
  draw();
}

byId('connection-now').addEventListener('click', wake);
window.addEventListener('online', wake);
window.addEventListener('offline', () => {
  model.online = false;
  draw();
});
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') wake();
});
// Leaving: the monitor hears it at once (DELETE); back from the browser's page cache: dial.
window.addEventListener('pagehide', () => agent?.session.stop());
window.addEventListener('pageshow', (event) => {
  if (event.persisted) agent?.session.start();
});
// A link pasted into this tab's address bar changes only the fragment: load it as a link.
window.addEventListener('hashchange', () => {
  if (new URLSearchParams(location.hash.slice(1)).has('enrol')) location.reload();
});
// Enrolled again in another tab, or forgotten there: this tab follows.
window.addEventListener('storage', (event) => {
  if (!isCredentialChange(event)) return;
  if (loadCredential()?.secret !== agent?.credential.secret) location.reload();
});
