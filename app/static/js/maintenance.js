// A site's maintenance windows in its panel: the one on now (until when, and why) or else the
// next, and, for operators, a one-off window to add. The section is built here, not in the page,
// and placed before the agent's. Times are typed and shown in the browser's time zone, the
// hall's clock.
import { request } from './api.js';
import { el, setText } from './dom.js';
import { t } from './i18n.js';
import { dayClock } from './text.js';

function siteMaintenance(code) {
  return request('GET', `/api/v1/sites/${encodeURIComponent(code)}/maintenance`);
}

function addWindow(body) {
  return request('POST', '/api/v1/maintenance', body);
}

export function createMaintenanceSection(before) {
  const title = el('h3', { id: 'panel-maintenance-title', class: 'panel-subtitle' });
  const summary = el('p', { class: 'maintenance-summary', 'aria-live': 'polite' });
  const field = (name, type, attrs = {}) => {
    const input = el('input', { name, type, class: 'maintenance-input', ...attrs });
    const label = el('span', { class: 'maintenance-label' });
    return { input, label, node: el('label', { class: 'maintenance-field' }, [label, input]) };
  };
  const from = field('from', 'datetime-local', { required: true });
  const to = field('to', 'datetime-local', { required: true });
  const note = field('note', 'text', { maxlength: 500 });
  const submit = el('button', { type: 'submit', class: 'control primary' });
  const outcome = el('p', { class: 'maintenance-outcome', role: 'status' });
  const form = el('form', { class: 'maintenance-form' }, [
    from.node, to.node, note.node, submit, outcome,
  ]);
  const section = el('section', {
    id: 'panel-maintenance',
    class: 'panel-maintenance',
    'aria-labelledby': 'panel-maintenance-title',
  }, [title, summary, form]);
  before.before(section);

  let code = null;
  let status = null;
  let body = null; // the site's maintenance as last read, or {error}

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const wanted = code;
    submit.disabled = true;
    try {
      await addWindow({
        site: wanted,
        starts_at: new Date(from.input.value).toISOString(),
        ends_at: new Date(to.input.value).toISOString(),
        note: note.input.value,
      });
      if (wanted !== code) return;
      form.reset();
      setText(outcome, t('maintenance.added'));
      outcome.dataset.kind = 'done';
      await load(wanted);
    } catch (error) {
      if (wanted !== code) return;
      setText(outcome, error.message);
      outcome.dataset.kind = 'error';
    } finally {
      submit.disabled = false;
    }
  });

  async function load(wanted) {
    try {
      const answer = await siteMaintenance(wanted);
      if (wanted === code) body = answer;
    } catch (error) {
      if (wanted === code) body = { error: error.message };
    }
    if (wanted === code) draw();
  }

  function draw() {
    setText(title, t('maintenance.title'));
    setText(from.label, t('maintenance.from'));
    setText(to.label, t('maintenance.to'));
    setText(note.label, t('maintenance.note'));
    setText(submit, t('maintenance.add'));
    setText(summary, describe(body));
  }

  /** Shows the section for `site` (null: none), its form only to operators; the windows are
   * read again when another site is shown or the site's status moves. */
  function show(site, canManage) {
    section.hidden = !site;
    form.hidden = !canManage;
    if (!site) {
      code = status = body = null;
      return;
    }
    if (site.code !== code) {
      form.reset();
      setText(outcome, '');
    }
    if (site.code !== code || site.status !== status) {
      code = site.code;
      status = site.status;
      body = null;
      load(code);
    }
    draw();
  }

  return { show };
}

/** "Đang bảo trì đến 06/12 23:00: thay cáp", "Bảo trì sắp tới: 13/12 22:00 – 14/12 00:00",
 * or that none is planned. */
function describe(body) {
  if (body === null) return t('panel.loading');
  if (body.error) return body.error;
  if (body.in_maintenance) {
    const until = dayClock(body.until);
    return body.note
      ? t('maintenance.onNoted', { until, note: body.note })
      : t('maintenance.on', { until });
  }
  const next = body.windows.map((w) => w.next).filter(Boolean)
    .sort((a, b) => new Date(a.start) - new Date(b.start))[0];
  if (!next) return t('maintenance.none');
  return t('maintenance.next', { start: dayClock(next.start), end: dayClock(next.end) });
}
