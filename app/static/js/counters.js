// The header's counters: sites per status (each a button that filters the tiles by that status),
// delegates present (the sum of each site's latest number, its agent's or an operator's, of the
// day) and the total number of sites. Until
// the service has been heard from they show a dash: a zero would claim that nothing is down.
import { el, setText, svg } from './dom.js';
import { onNextFrame } from './frame.js';
import { currentLang, t } from './i18n.js';
import { ICONS, STATUSES, shownStatus } from './status.js';

export function createCounters(container, sites, filters, heard) {
  const cells = new Map();

  for (const status of STATUSES) {
    const cell = counter(status, ICONS[status], `status.${status}`, 'button');
    cell.addEventListener('click', () => filters.toggleStatus(status));
    container.append(cell);
  }
  container.append(counter('attendance', personIcon(), 'counters.attendance'));
  container.append(counter('total', 'Σ', 'counters.total'));

  function counter(name, icon, labelKey, tag = 'div') {
    const value = el('span', { class: 'counter-value' });
    const label = el('span', { class: 'counter-label' });
    const cell = el(tag, { class: `counter counter-${name}`, dataset: { counter: name } }, [
      el('span', { class: 'counter-icon', 'aria-hidden': 'true' }, icon),
      value,
      label,
    ]);
    if (tag === 'button') cell.type = 'button';
    cells.set(name, { cell, value, label, labelKey });
    return cell;
  }

  function draw() {
    const counts = heard() ? count() : null;
    const locale = currentLang() === 'vi' ? 'vi-VN' : 'en-GB';
    for (const [name, { cell, value, label, labelKey }] of cells) {
      const shown = counts ? counts[name].toLocaleString(locale) : t('value.none');
      setText(value, shown);
      setText(label, t(labelKey));
      if (cell.tagName === 'BUTTON') {
        const active = filters.status() === name;
        cell.setAttribute('aria-pressed', String(active));
        cell.setAttribute('aria-label', t('counters.filter', { status: t(labelKey), count: shown }));
      }
    }
  }

  function count() {
    const counts = Object.fromEntries(STATUSES.map((status) => [status, 0]));
    let attendance = 0;
    for (const site of sites().values()) {
      const status = shownStatus(site);
      counts[status] = (counts[status] ?? 0) + 1;
      attendance += site.attendance?.present ?? 0; // the latest, agent's or operator's
    }
    counts.attendance = attendance;
    counts.total = sites().size;
    return counts;
  }

  draw();
  return { update: () => onNextFrame('counters', draw), draw };
}

/** A person's outline: no emoji font is needed on the wall screen's machine. */
function personIcon() {
  const size = { width: '0.9em', height: '0.9em' };
  return svg('svg', { viewBox: '0 0 20 20', ...size, fill: 'currentColor' }, [
    svg('circle', { cx: 10, cy: 6, r: 4 }),
    svg('path', { d: 'M2 19c0-5 3.5-8 8-8s8 3 8 8z' }),
  ]);
}
