// Delegates present: typed on the page, checked, kept in the browser for this site, and sent
// at once as a report (and with every report after it, so it survives a reconnection).
import { clock } from '../js/text.js';
import { t } from './i18n.js';

const STORAGE_KEY = 'bw.agent.attendance';
export const MAX_ATTENDANCE = 100_000; // the protocol's bound (docs/PROTOCOL.md §4)

/** `text` as an attendance: { value } or { problem: empty | notNumber | negative | tooLarge }. */
export function parseAttendance(text) {
  const typed = text.trim();
  if (typed === '') return { problem: 'empty' };
  if (/^[-−]\s*\d+$/.test(typed)) return { problem: 'negative' };
  if (!/^\d+$/.test(typed)) return { problem: 'notNumber' };
  const value = Number(typed);
  if (!Number.isSafeInteger(value) || value > MAX_ATTENDANCE) return { problem: 'tooLarge' };
  return { value };
}

/** The stored attendance of `site`, or null. */
export function storedAttendance(site) {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY));
    if (stored?.site === site && Number.isSafeInteger(stored.value)) return stored;
  } catch {
    // unreadable: none
  }
  return null;
}

/**
 * The form. `send()` reports now and says whether it went (false: not connected, the next
 * session's first report carries it). `refresh(state)` follows the session's reports.
 */
export function createAttendance(form, { site, send }) {
  const input = form.querySelector('#attendance-input');
  const error = form.querySelector('#attendance-error');
  const status = form.querySelector('#attendance-state');
  let stored = storedAttendance(site);
  let problem = null; // [key, params] of the last refused entry
  let session = { reportedAt: null, reported: null };

  if (stored) input.value = String(stored.value);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const parsed = parseAttendance(input.value);
    if (parsed.problem) {
      problem = [`attendance.${parsed.problem}`, { text: input.value.trim() }];
      render();
      input.focus();
      return;
    }
    problem = null;
    stored = { site, value: parsed.value, at: Date.now() };
    localStorage.setItem(STORAGE_KEY, JSON.stringify(stored));
    input.value = String(parsed.value);
    send();
    render();
  });
  input.addEventListener('input', () => {
    if (problem === null) return;
    problem = null; // the message goes once the entry is being corrected
    render();
  });

  function render() {
    error.hidden = problem === null;
    error.textContent = problem ? t(...problem) : '';
    input.setAttribute('aria-invalid', String(problem !== null));
    status.textContent = stateText();
  }

  function stateText() {
    if (!stored) return t('attendance.none');
    const { reportedAt, reported } = session;
    if (reportedAt && reportedAt >= stored.at && reported?.attendance === stored.value) {
      return t('attendance.sent', { n: stored.value, time: clock(reportedAt) });
    }
    return t('attendance.pending', { n: stored.value });
  }

  render();
  return {
    /** What reports say of the room. */
    fields: () => (stored ? { attendance: stored.value } : {}),
    refresh(state) {
      session = state;
      render();
    },
    relabel: render,
  };
}
