// Every site as a tile (a button), grouped by district. A snapshot builds the tiles once;
// after that only the tiles of changed sites are repainted, in the next animation frame.
import { el, reorder, setText } from './dom.js';
import { onNextFrame } from './frame.js';
import { TOP_GROUP, groupKey, groupKeys, groupLabel } from './groups.js';
import { t } from './i18n.js';
import { ICONS, severityRank, shownStatus } from './status.js';
import { shortName } from './text.js';

export function createTiles(container, sites, filters, onOpen) {
  const tiles = new Map(); // code -> button
  const groups = new Map(); // group key -> {section, title, badge, list, codes}
  const dirty = new Set();
  const empty = document.getElementById('tiles-empty');
  const connecting = document.getElementById('tiles-connecting');
  const shown = document.getElementById('sites-shown');

  container.addEventListener('click', (event) => {
    const tile = event.target.closest('[data-site]');
    if (tile) onOpen(tile.dataset.site);
  });

  function rebuild() {
    tiles.clear();
    groups.clear();
    const sections = groupKeys(sites()).map(buildGroup);
    for (const site of sites().values()) {
      const tile = buildTile(site);
      tiles.set(site.code, tile);
      const group = groups.get(groupKey(site, sites()));
      group.codes.push(site.code);
      group.list.append(tile);
    }
    container.replaceChildren(...sections);
    connecting.hidden = true; // the first snapshot is here
    relabel();
  }

  function buildGroup(key, index) {
    const title = el('h3', { class: 'group-title' });
    const badge = el('span', { class: 'group-badge' });
    const list = el('div', { class: 'group-tiles' });
    const section = el('section', { class: 'group', dataset: { group: key } }, [
      el('div', { class: 'group-head' }, [title, badge]),
      list,
    ]);
    groups.set(key, { key, index, section, title, badge, list, codes: [] });
    return section;
  }

  function buildTile(site) {
    const tile = el('button', { type: 'button', class: 'tile', dataset: { site: site.code } }, [
      el('span', { class: 'tile-icon', 'aria-hidden': 'true' }),
      el('span', { class: 'tile-name' }, shortName(site.name)),
      el('span', { class: 'tile-note', 'aria-hidden': 'true' }),
    ]);
    tile.dataset.level = site.level;
    if (site.level === 'hub') tile.classList.add('is-hub');
    paint(tile, site);
    return tile;
  }

  function paint(tile, site) {
    const status = shownStatus(site);
    if (tile.dataset.status !== status) {
      tile.dataset.status = status;
      setText(tile.children[0], ICONS[status] ?? '?');
    }
    setText(tile.children[2], noteOf(site, status));
    const label = t('tile.aria', {
      name: site.name,
      level: t(`level.${site.level}`),
      status: t(`status.${status}`),
    });
    if (tile.getAttribute('aria-label') !== label) {
      tile.setAttribute('aria-label', label);
      tile.title = `${site.name} — ${t(`status.${status}`)}`; // the full name, on hover
    }
  }

  /** Sites changed: repaint their tiles (and their groups) in the next frame. */
  function update(codes) {
    for (const code of codes) dirty.add(code);
    onNextFrame('tiles', flush);
  }

  function flush() {
    const touched = new Set();
    for (const code of dirty) {
      const site = sites().get(code);
      const tile = tiles.get(code);
      if (!site || !tile) continue;
      paint(tile, site);
      tile.hidden = !filters.matches(site);
      touched.add(groups.get(groupKey(site, sites())));
    }
    dirty.clear();
    for (const group of touched) finishGroup(group);
    if (filters.worstFirst()) orderGroups();
    showCount();
  }

  function finishGroup(group) {
    const all = group.codes.map((code) => sites().get(code));
    const down = all.filter((s) => shownStatus(s) === 'down').length;
    const degraded = all.filter((s) => shownStatus(s) === 'degraded').length;
    group.down = down;
    group.degraded = degraded;
    group.badge.replaceChildren(...badgeParts(down, degraded));
    group.badge.setAttribute('aria-label', t('group.problems', { down, degraded }));
    group.badge.hidden = !(down || degraded);
    group.section.hidden = group.codes.every((code) => tiles.get(code).hidden);
    orderTiles(group);
  }

  function orderTiles(group) {
    const rank = (code) => severityRank(shownStatus(sites().get(code)));
    const codes = filters.worstFirst()
      ? [...group.codes].sort((a, b) => rank(a) - rank(b))
      : group.codes;
    reorder(group.list, codes.map((code) => tiles.get(code)));
  }

  // Worst first also lifts the districts in trouble to the top (the hub group stays first).
  function orderGroups() {
    const list = [...groups.values()];
    if (filters.worstFirst()) {
      list.sort(
        (a, b) =>
          (b.key === TOP_GROUP) - (a.key === TOP_GROUP) ||
          b.down - a.down ||
          b.degraded - a.degraded ||
          a.index - b.index,
      );
    }
    reorder(container, list.map((group) => group.section));
  }

  /** Filters or sort changed: recompute every tile's visibility (rare, not per update). */
  function refilter() {
    for (const [code, tile] of tiles) tile.hidden = !filters.matches(sites().get(code));
    for (const group of groups.values()) finishGroup(group);
    orderGroups();
    showCount();
  }

  /** The language changed: every tile's label and every group's title. */
  function relabel() {
    for (const [code, tile] of tiles) paint(tile, sites().get(code));
    for (const group of groups.values()) setText(group.title, groupLabel(group.key, sites()));
    refilter();
  }

  function showCount() {
    let visible = 0;
    for (const tile of tiles.values()) visible += tile.hidden ? 0 : 1;
    setText(shown, t('sites.shown', { shown: visible, total: tiles.size }));
    empty.hidden = visible > 0 || tiles.size === 0;
  }

  return { rebuild, update, refilter, relabel };
}

/** The small word after the name: a site nobody probes says so; the hub says what it is. */
function noteOf(site, status) {
  if (status === 'unmonitored') return t('status.unmonitored');
  return site.level === 'hub' ? t('tile.hub') : '';
}

/** "✖ 2 ▲ 1": how many sites of the group are down and degraded, in their colours. */
function badgeParts(down, degraded) {
  const parts = [];
  if (down) parts.push(el('span', { class: 'badge-down' }, `${ICONS.down} ${down}`));
  if (degraded) {
    parts.push(el('span', { class: 'badge-degraded' }, `${ICONS.degraded} ${degraded}`));
  }
  return parts;
}
