// What an operator may do from the conference view: start early, extend, end now (each after a
// confirmation), and enter a site's delegates present. Whether the token may do it is asked of
// the service once (GET /api/v1/workers answers operators only and writes nothing), so a
// viewer's wall screen shows no buttons that would be refused.
import { request } from '../js/api.js';
import { el, setText } from '../js/dom.js';
import { getToken } from '../js/token.js';
import { conferencePath, read } from './http.js';
import { t } from './i18n.js';

export async function mayOperate() {
  if (!getToken()) return false;
  try {
    await read('/api/v1/workers');
    return true;
  } catch {
    return false;
  }
}

/** Asks `question` in the page's confirmation dialog; resolves true on "yes". */
function confirmed(dialog, question) {
  setText(dialog.querySelector('.confirm-question'), question);
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
  });
}

/**
 * The operator's panel. `changed(conference)` gets the conference after an action, so the page
 * switches phase at once rather than at its next refresh.
 */
export function createOperator(root, { id, dialog, changed, saved }) {
  const message = root.querySelector('.op-message');
  const minutes = root.querySelector('#op-minutes');
  const attendanceForm = root.querySelector('#op-attendance');
  const siteSelect = root.querySelector('#op-site');
  const present = root.querySelector('#op-present');
  const buttons = {
    start: root.querySelector('#op-start'),
    extend: root.querySelector('#op-extend'),
    end: root.querySelector('#op-end'),
  };
  let sites = [];

  async function act(action, question, body) {
    if (!(await confirmed(dialog, question))) return;
    say('');
    try {
      changed(await request('POST', `${conferencePath(id)}/${action}`, body));
    } catch (error) {
      say(t('op.refused', { detail: error.message }), true);
    }
  }

  buttons.start.addEventListener('click', () => act('start', t('op.confirmStart')));
  buttons.end.addEventListener('click', () => act('end', t('op.confirmEnd')));
  buttons.extend.addEventListener('click', () => {
    const n = Number(minutes.value);
    if (!Number.isInteger(n) || n < 1) return say(t('op.bad'), true);
    return act('extend', t('op.confirmExtend', { n }), { minutes: n });
  });

  attendanceForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const n = Number(present.value);
    if (present.value.trim() === '' || !Number.isInteger(n) || n < 0) return say(t('op.bad'), true);
    const code = siteSelect.value;
    try {
      await request('PUT', `/api/v1/sites/${encodeURIComponent(code)}/attendance`, { present: n });
    } catch (error) {
      return say(t('op.refused', { detail: error.message }), true);
    }
    present.value = '';
    const name = sites.find((s) => s.code === code)?.name ?? code;
    say(t('op.saved', { n, site: name }));
    return saved();
  });

  function say(text, isError = false) {
    setText(message, text);
    message.classList.toggle('error', isError);
  }

  /** Shows the buttons the phase allows; keeps the site list (and the choice) up to date. */
  function show(phase, participants) {
    root.hidden = phase === 'ended';
    buttons.start.hidden = !(phase === 'planned' || phase === 'preflight');
    buttons.end.hidden = phase !== 'live';
    attendanceForm.hidden = phase !== 'live' && phase !== 'preflight';
    const key = participants.map((s) => s.code).join();
    if (key !== sites.map((s) => s.code).join()) {
      const chosen = siteSelect.value;
      siteSelect.replaceChildren(
        ...participants.map((s) => el('option', { value: s.code }, `${s.name} (${s.code})`)),
      );
      if (participants.some((s) => s.code === chosen)) siteSelect.value = chosen;
    }
    sites = participants;
  }

  return { show };
}
