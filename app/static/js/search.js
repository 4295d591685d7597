// The toolbar above the tiles: accent-insensitive search ("hoa an" finds "Hòa An"), filters by
// level, district (parent group) and status, and the "worst first" sort. `/` focuses search.
import { el } from './dom.js';
import { groupKey, groupKeys, groupLabel } from './groups.js';
import { t } from './i18n.js';
import { LEVELS, STATUSES, shownStatus } from './status.js';
import { fold } from './text.js';

const SORT_KEY = 'bw.worstFirst';

export function createFilters(sites, onChange) {
  const search = document.getElementById('search');
  const level = document.getElementById('filter-level');
  const group = document.getElementById('filter-group');
  const status = document.getElementById('filter-status');
  const sort = document.getElementById('sort-worst');
  const keys = new WeakMap(); // site object -> folded "code name", computed once per snapshot
  let words = [];

  function searchKey(site) {
    if (!keys.has(site)) keys.set(site, fold(`${site.code} ${site.name}`));
    return keys.get(site);
  }

  /** Whether a site passes every filter (`ignoreStatus`: all but the status one). */
  function matches(site, ignoreStatus = false) {
    if (level.value && site.level !== level.value) return false;
    if (group.value && groupKey(site, sites()) !== group.value) return false;
    if (!ignoreStatus && status.value && shownStatus(site) !== status.value) return false;
    const key = words.length ? searchKey(site) : '';
    return words.every((word) => key.includes(word));
  }

  function changed() {
    words = fold(search.value).split(' ').filter(Boolean);
    onChange();
  }

  function fillOptions() {
    fillSelect(level, 'filter.level.all', LEVELS.map((v) => [v, t(`level.${v}`)]));
    const groups = groupKeys(sites()).map((key) => [key, groupLabel(key, sites())]);
    fillSelect(group, 'filter.group.all', groups);
    fillSelect(status, 'filter.status.all', STATUSES.map((v) => [v, t(`status.${v}`)]));
  }

  /** Shows only `wanted` (a counter was pressed); pressing the same one again clears it. */
  function toggleStatus(wanted) {
    status.value = status.value === wanted ? '' : wanted;
    changed();
  }

  for (const control of [level, group, status]) control.addEventListener('change', changed);
  // Typing "hoa an" into 3,321 sites: filter once the fingers pause, not on every letter.
  let typing = null;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(changed, 120);
  });
  sort.checked = JSON.parse(localStorage.getItem(SORT_KEY) ?? String(isNarrow()));
  sort.addEventListener('change', () => {
    localStorage.setItem(SORT_KEY, JSON.stringify(sort.checked));
    onChange();
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === '/' && !isTyping(event.target) && !document.querySelector('dialog[open]')) {
      event.preventDefault(); // keep the "/" out of the box
      search.focus();
    }
  });

  return {
    matches,
    fillOptions,
    toggleStatus,
    status: () => status.value,
    group: () => group.value,
    worstFirst: () => sort.checked,
  };
}

function fillSelect(select, allKey, options) {
  const chosen = select.value;
  select.replaceChildren(
    el('option', { value: '' }, t(allKey)),
    ...options.map(([value, label]) => el('option', { value }, label)),
  );
  // Keep the user's choice across a redraw (a new snapshot or a language switch).
  select.value = options.some(([value]) => value === chosen) ? chosen : '';
}

function isTyping(target) {
  return target instanceof HTMLElement && target.matches('input, textarea, select');
}

// On a phone the problems must come first without asking.
function isNarrow() {
  return window.matchMedia('(max-width: 760px)').matches;
}
