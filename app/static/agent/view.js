// What the page shows: the site, the connection, the monitor's verdict and figures, what to do,
// or a notice (an enrolment refused, a registration withdrawn). One render from one model:
//   { credential, notice, welcome, session, status, statusOffset, statusAt, statusFailedSince,
//     online, wake }
import { explain } from '../js/reason.js';
import { clock, duration, millis, percent } from '../js/text.js';
import { t } from './i18n.js';
import { VERSION } from './session.js';

const VERDICTS = new Set(['up', 'degraded', 'down', 'unknown', 'paused']);
const byId = (id) => document.getElementById(id);

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

const pad = (n) => String(n).padStart(2, '0');

/** A time the server wrote ("2026-11-24 08:00 UTC", or ISO): HH:MM DD/MM/YYYY on this PC's
 * clock, or as written when it is neither. */
function dayTime(text) {
  if (!text) return t('value.none');
  const utc = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d) ?UTC$/.exec(text);
  const at = utc
    ? new Date(Date.UTC(utc[1], utc[2] - 1, utc[3], utc[4], utc[5]))
    : new Date(text);
  if (Number.isNaN(at.getTime())) return text;
  const date = `${pad(at.getDate())}/${pad(at.getMonth() + 1)}/${at.getFullYear()}`;
  return t('time.on', { time: `${pad(at.getHours())}:${pad(at.getMinutes())}`, date });
}

/** Texts given as [key, params] are told again on a language change. */
function tell(text) {
  if (!text) return '';
  const [key, params = {}] = text;
  const told = { ...params };
  if ('time' in told && params.day) told.time = dayTime(params.time);
  return t(key, told);
}

export function render(model) {
  const { credential, notice } = model;
  document.title = credential ? t('app.title', { name: credential.site_name }) : 'BridgeWatch';
  byId('site').hidden = !credential;
  if (credential) {
    setText(byId('site-name'), credential.site_name ?? credential.site_code);
    setText(byId('site-code'), t('app.code', { code: credential.site_code }));
  }
  renderNotice(notice);
  byId('welcome').hidden = !model.welcome;
  byId('console').hidden = !credential;
  if (credential) {
    renderConnection(model);
    renderVerdict(model);
    renderHelp(model);
  }
  setText(byId('wake-state'), model.wake ? t(`wake.${model.wake}`) : '');
  setText(byId('agent-version'), t('version', { version: VERSION }));
  setText(byId('lang-switch'), t('lang.switch'));
  byId('lang-switch').setAttribute('aria-label', t('lang.aria'));
}

function renderNotice(notice) {
  const box = byId('notice');
  box.hidden = !notice;
  if (!notice) return;
  box.dataset.kind = notice.kind;
  setText(byId('notice-title'), tell(notice.title));
  setText(byId('notice-text'), tell(notice.text));
  setText(byId('notice-more'), (notice.more ?? []).map(tell).join(' '));
  byId('notice-details').hidden = !notice.detail;
  setText(byId('notice-detail'), notice.detail ?? '');
}

function renderConnection({ session, online }) {
  const card = byId('connection');
  const { phase, error } = session;
  const shown = phase === 'waiting' && !online ? 'offline' : phase;
  card.dataset.phase = ['connected', 'waiting', 'offline'].includes(shown) ? shown : 'connecting';
  const headline = {
    connected: 'connection.connected',
    waiting: 'connection.waiting',
    offline: 'connection.offline',
  }[shown];
  setText(byId('connection-state'), t(headline ?? 'connection.connecting'));
  let why = '';
  if (shown === 'connected') why = t('connection.since', { time: clock(session.since) });
  else if (!online) why = t('why.offline');
  else if (error) why = t(`why.${error.kind}`, { status: error.status ?? '' });
  setText(byId('connection-why'), why);
  const waiting = phase === 'waiting' && session.retryAt;
  byId('connection-retry').hidden = !waiting;
  if (waiting) {
    const seconds = Math.max(0, Math.ceil((session.retryAt - Date.now()) / 1000));
    setText(byId('connection-countdown'), t('connection.retry', { s: seconds }));
  }
}

function renderVerdict(model) {
  const { status, session } = model;
  const card = byId('verdict');
  const verdict = status ? (VERDICTS.has(status.status) ? status.status : 'unknown') : 'none';
  card.dataset.status = verdict;
  setText(byId('verdict-status'), t(`verdict.${verdict}`));
  let text = '';
  if (status) {
    const reason = explain(status.status_reason) || t('verdict.noReason');
    const catchingUp = session.phase === 'connected' && ['down', 'unknown'].includes(verdict);
    text = catchingUp ? t('verdict.catchingUp') : t(`verdict.${verdict}.text`, { reason });
  }
  setText(byId('verdict-text'), text);
  const latest = status?.latest ?? null;
  setText(byId('fact-rtt'), millis(latest?.rtt_median_seconds));
  setText(byId('fact-loss'), percent(latest?.loss_ratio));
  setText(byId('fact-contact'), lastContact(model));
  let updated = '';
  if (model.statusFailedSince) {
    updated = t('verdict.stale', { time: clock(model.statusAt ?? model.statusFailedSince) });
  } else if (model.statusAt) updated = t('verdict.updated', { time: clock(model.statusAt) });
  setText(byId('verdict-updated'), updated);
}

/** The later of the last ping this page answered and the monitor's last_seen_at, on this PC's
 * clock (the monitor's times are moved by how far its clock is ahead). */
function lastContact({ session, status, statusOffset }) {
  const seen = Date.parse(status?.last_seen_at ?? '');
  const candidates = [session.lastPingAt, Number.isFinite(seen) ? seen - statusOffset : null];
  const at = Math.max(...candidates.filter((time) => Number.isFinite(time)));
  if (!Number.isFinite(at)) return t('value.none');
  return t('fact.ago', { time: clock(at), ago: duration((Date.now() - at) / 1000) });
}

function renderHelp({ session, status, online }) {
  const fine = online && session.phase === 'connected' && status?.status !== 'down';
  byId('help').dataset.trouble = String(!fine);
  setText(byId('help-title'), t(fine ? 'help.calm' : 'help.trouble'));
}
