// The site panel (a modal <dialog>): who to call, the site's state and figures, its maintenance
// windows, and charts of the last hour from /samples. Esc or the close button closes it; focus returns to the tile.
import { samplesSince } from './api.js';
import { createAgentSection } from './enrol.js';
import { createMaintenanceSection } from './maintenance.js';
import { el, setText } from './dom.js';
import { lineChart } from './chart.js';
import { onNextFrame } from './frame.js';
import { t } from './i18n.js';
import { explain, mediaFault } from './reason.js';
import { ICONS, shownStatus } from './status.js';
import { clock, millis, percent, score, since } from './text.js';

const HOUR_MS = 3600_000;
const CHARTS_REFRESH_MS = 60_000;

export function createPanel(dialog, sites, canManage) {
  const agent = createAgentSection(dialog.querySelector('#panel-agent'));
  const maintenance = createMaintenanceSection(dialog.querySelector('#panel-agent'));
  const title = dialog.querySelector('#panel-title');
  const status = dialog.querySelector('#panel-status');
  const facts = dialog.querySelector('#panel-facts');
  const charts = dialog.querySelector('#panel-charts');
  let code = null;
  let samples = null; // {items} or {error}
  let refreshTimer = null;

  dialog.querySelector('#panel-close').addEventListener('click', () => dialog.close());
  // A click on the backdrop (outside the panel's box) closes it too.
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) dialog.close();
  });
  dialog.addEventListener('close', () => {
    clearInterval(refreshTimer);
    code = null;
    agent.show(null, false); // a link made is not kept once the panel is closed
    maintenance.show(null, false);
    delete dialog.dataset.site;
  });

  function open(siteCode) {
    if (!sites().has(siteCode)) return;
    code = siteCode;
    dialog.dataset.site = siteCode;
    samples = null;
    draw();
    if (!dialog.open) dialog.showModal();
    loadCharts();
    clearInterval(refreshTimer);
    refreshTimer = setInterval(loadCharts, CHARTS_REFRESH_MS);
  }

  async function loadCharts() {
    const wanted = code;
    const to = new Date();
    try {
      const body = await samplesSince(wanted, new Date(to - HOUR_MS));
      samples = { items: body.items, to };
    } catch (error) {
      samples = { error: error.message };
    }
    if (wanted === code) drawCharts();
  }

  function draw() {
    const site = sites().get(code);
    if (!site) return;
    setText(title, site.name);
    const shown = shownStatus(site);
    status.dataset.status = shown;
    setText(status, `${ICONS[shown]} ${t(`status.${shown}`)}`);
    facts.replaceChildren(...factRows(site, sites()));
    agent.show(site, canManage());
    maintenance.show(site, canManage());
    drawCharts();
  }

  function drawCharts() {
    if (!samples) return charts.replaceChildren(message('panel.loading'));
    if (samples.error) {
      return charts.replaceChildren(message('panel.failed', { detail: samples.error }));
    }
    if (!samples.items.length) return charts.replaceChildren(message('panel.nodata'));
    charts.replaceChildren(...chartsOf(samples.items, samples.to));
  }

  /** The shown site changed (an update): redraw its figures, not its charts. */
  function update(codes) {
    if (code && codes.includes(code)) onNextFrame('panel', draw);
  }

  return { open, update, redraw: () => code && draw(), isOpen: () => dialog.open };
}

function message(key, params) {
  return el('p', { class: 'panel-message' }, t(key, params));
}

function factRows(site, sites) {
  const latest = site.latest ?? {};
  const report = latest.report ?? {};
  const parent = sites.get(site.parent_code);
  const rows = [
    ['panel.code', site.code],
    ['panel.level', t(`level.${site.level}`)],
    ['panel.parent', parent ? `${parent.name} (${parent.code})` : site.parent_code],
    ['panel.since', `${clock(site.status_since)} · ${since(site.status_since)}`],
    ['panel.reason', reasonOf(site)],
    ['panel.lastSeen', site.last_seen_at ? clock(site.last_seen_at) : null],
    ['panel.contact', site.contact_name],
    ['panel.phone', site.contact_phone ? phoneLink(site) : null],
    ['panel.agent', report.version],
    ['panel.camera', device(site.devices?.camera, 'Picture', CAMERA_CAUSES)],
    ['panel.microphone', device(site.devices?.microphone, 'Sound', MICROPHONE_CAUSES)],
    ['panel.attendance', site.attendance?.present],
    ['panel.rtt', millis(latest.rtt_median_seconds)],
    ['panel.jitter', millis(latest.jitter_seconds)],
    ['panel.loss', percent(latest.loss_ratio)],
    ['panel.mos', score(latest.mos)],
    ['panel.path', path(latest)],
  ];
  // A status set before reasons were kept (or by an operator) has none: skip the empty row.
  return rows.filter(([key, value]) => key !== 'panel.reason' || value).map(([key, value]) =>
    el('div', { class: 'fact', dataset: { fact: key.slice('panel.'.length) } }, [
      el('dt', {}, t(key)),
      el('dd', {}, value === null || value === undefined || value === '' ? t('value.none') : value),
    ]),
  );
}

function reasonOf(site) {
  return shownStatus(site) === 'unmonitored' ? t('reason.notProbed') : explain(site.status_reason);
}

function phoneLink(site) {
  const number = site.contact_phone.replace(/[^+\d]/g, '');
  const name = site.contact_name ?? site.name;
  const label = t('panel.call', { name });
  const attrs = { href: `tel:${number}`, class: 'phone', 'aria-label': label };
  return el('a', attrs, site.contact_phone);
}

// A device's verdict (the site's `devices`, docs/PROTOCOL.md §4) -> the cause its reason names.
const CAMERA_CAUSES = { missing: 'no camera', black: 'black', frozen: 'frozen', fault: '' };
const MICROPHONE_CAUSES = { missing: 'no microphone', silent: 'silent', fault: '' };

function device(verdict, what, causes) {
  if (verdict === 'ok') return `✓ ${t('panel.device.ok')}`;
  if (verdict === 'denied') return `? ${t('panel.device.denied')}`;
  if (verdict in causes) return `✖ ${mediaFault(what, causes[verdict])}`;
  return null;
}

/** How the monitor reaches the site, from the candidate types of the pair ICE selected
 * (docs/PROTOCOL.md §1): through a TURN server when either side is relayed. */
function path(latest) {
  const types = [latest.local_candidate_type, latest.remote_candidate_type];
  if (types.includes('relay')) return t('panel.path.relay');
  if (types.every(Boolean)) return t('panel.path.direct');
  return null;
}

function chartsOf(items, to) {
  // The API answers newest first; a chart reads left to right, oldest first.
  const ordered = [...items].reverse().map((s) => ({ ...s, at: new Date(s.at) }));
  // A site watched for less than an hour gets its whole history across the chart's width.
  const from = new Date(Math.max(to - HOUR_MS, ordered[0].at));
  const series = (field, factor = 1) =>
    ordered.map((s) => ({
      at: s.at,
      value: s.reachable && s[field] !== null ? s[field] * factor : null,
      unreachable: !s.reachable,
    }));
  const round = (digits) => (v) => v.toFixed(digits);
  const chart = (key, points, top, digits) =>
    lineChart({ title: t(key), points, from, to, top, format: round(digits) });
  // Each scale's top is at least a value that is still fine, so a quiet line stays low.
  return [
    chart('chart.rtt', series('rtt_median_seconds', 1000), 50, 0),
    chart('chart.loss', series('loss_ratio', 100), 5, 1),
    chart('chart.jitter', series('jitter_seconds', 1000), 10, 0),
    chart('chart.mos', series('mos'), 5, 2),
  ];
}
