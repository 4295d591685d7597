// Ended: how it went, from the report (time up, incidents, time down) and the attendance, and
// the way to the printable report with its CSV and JSON.
import { el, setText } from '../js/dom.js';
import { duration, percent } from '../js/text.js';
import { t } from './i18n.js';

export function renderEnded(root, report, attendance) {
  const totals = report.totals;
  const facts = [
    ['present', t('ended.present'), `${attendance.present}/${attendance.expected_delegates}`],
    ['uptime', t('ended.uptime'), percent(totals.uptime_ratio)],
    ['incidents', t('ended.incidents'), String(totals.incidents)],
    ['down', t('ended.down'), duration(totals.seconds.down)],
  ];
  root.querySelector('.ended-facts').replaceChildren(...facts.map(([name, label, value]) =>
    el('div', { class: 'fact', dataset: { fact: name } }, [
      el('dt', {}, label),
      el('dd', {}, value),
    ])));
  const link = root.querySelector('.ended-report');
  link.href = `/conference/report?id=${report.conference_id}`;
  setText(link, t('ended.report'));
}
