// The map: each site's lat/lon on an equirectangular projection fitted to the sites shown,
// drawn as SVG (no tiles, no external data). Markers share the tiles' colour + shape coding.
// Sites in trouble and districts are named where a name covers nothing (labels.js); pointing
// at a marker, or focusing a site's tile, names that site in any case.
import { svg } from './dom.js';
import { onNextFrame } from './frame.js';
import { t } from './i18n.js';
import { firstFit, measureLabel, placeLabels } from './labels.js';
import { isProblem, shownStatus } from './status.js';
import { shortName } from './text.js';

const PADDING = 18; // px, so markers on the edge stay whole
const SIZE = { hub: 24, province: 20, district: 20, commune: 12 };
// A site in trouble gets a bigger marker: in a dense cluster it must still catch the eye.
const GROW = { down: 1.8, degraded: 1.4 };
// Whose names the map tries to show, most important first. Healthy communes go unnamed: 161
// names would hide the map they are on.
const NAME_RANK = { down: 0, degraded: 1 };
const NAMED_LEVELS = new Set(['province', 'district']);

export function createMap(container, sites, filters, onOpen) {
  const root = svg('svg', { class: 'map-svg', role: 'img' });
  const links = svg('g', { class: 'map-links' });
  const labels = svg('g', { class: 'map-labels' });
  const markersLayer = svg('g', { class: 'map-markers' });
  const pointed = svg('text', { class: 'map-label map-pointed is-hidden' });
  root.append(links, labels, markersLayer, pointed);
  container.replaceChildren(root);
  root.setAttribute('aria-label', t('map.aria'));

  let markers = new Map(); // code -> {node, title, base, size, at, link, visible}
  let names = new Map(); // code -> {text, line}: made the first time a site's name is placed
  let size = { width: 100, height: 100 };
  const dirty = new Set();

  root.addEventListener('click', (event) => {
    const marker = event.target.closest('[data-site]');
    if (marker) onOpen(marker.dataset.site);
  });
  root.addEventListener('pointerover', (event) => point(event.target.closest('[data-site]')));
  root.addEventListener('pointerout', () => point(null));
  new ResizeObserver(() => onNextFrame('map-fit', fit)).observe(container);

  function rebuild() {
    markers = new Map();
    names = new Map();
    links.replaceChildren();
    labels.replaceChildren();
    markersLayer.replaceChildren();
    for (const site of sites().values()) {
      if (site.lat === null || site.lon === null) continue;
      const marker = buildMarker(site);
      markers.set(site.code, marker);
      markersLayer.append(marker.node);
      if (marker.link) links.append(marker.link);
    }
    fit();
  }

  function buildMarker(site) {
    const title = svg('title');
    const node = svg('path', { class: 'marker', dataset: { site: site.code, level: site.level } }, [
      title,
    ]);
    const marker = { node, title, base: SIZE[site.level] ?? SIZE.commune, at: null };
    const parent = sites().get(site.parent_code);
    if (site.level === 'commune' && parent?.lat != null) {
      marker.link = svg('line', { class: 'map-link' });
    }
    paint(marker, site);
    return marker;
  }

  function paint(marker, site) {
    const { node } = marker;
    const status = shownStatus(site);
    if (node.dataset.status !== status) {
      node.dataset.status = status;
      node.setAttribute('d', SHAPES[status] ?? SHAPES.unknown);
      marker.size = marker.base * (GROW[status] ?? 1);
      if (marker.at) place(marker, marker.at);
      // Problems are drawn last, so a healthy neighbour never hides a site that is down.
      if (isProblem(status)) markersLayer.append(node);
    }
    marker.title.textContent = `${site.name} — ${t(`status.${status}`)}`;
  }

  /** Fits the projection to the sites that pass the filters (status aside: it changes often). */
  function fit() {
    const width = Math.max(container.clientWidth, 100);
    const height = Math.max(container.clientHeight, 100);
    size = { width, height };
    root.setAttribute('viewBox', `0 0 ${width} ${height}`);
    const shown = [...markers.keys()]
      .map((code) => sites().get(code))
      .filter((site) => filters.matches(site, true));
    const project = projection(shown, width, height);
    for (const [code, marker] of markers) {
      const site = sites().get(code);
      show(marker, filters.matches(site));
      place(marker, project(site));
      if (marker.link) placeLink(marker, site, project);
    }
    placeNames();
  }

  function show(marker, visible) {
    marker.visible = visible;
    marker.node.classList.toggle('is-hidden', !visible);
  }

  function placeLink(marker, site, project) {
    const parent = sites().get(site.parent_code);
    const [x1, y1] = project(site);
    const [x2, y2] = project(parent);
    setAttrs(marker.link, { x1, y1, x2, y2 });
    marker.link.classList.toggle('is-hidden', !marker.visible || !filters.matches(parent, true));
  }

  /** Names, most important first, where each covers no marker and no name placed before. */
  function placeNames() {
    const obstacles = [];
    const wanted = [];
    for (const [code, marker] of markers) {
      if (!marker.visible) continue;
      obstacles.push(boxAround(marker));
      const rank = nameRank(sites().get(code));
      if (rank !== null) wanted.push({ code, marker, rank, name: null });
    }
    wanted.sort((a, b) => a.rank - b.rank || a.code.localeCompare(b.code));
    // Every write before the first read: a status may change a name's font (bold), and
    // reading the fonts then costs one style pass, not one per name.
    for (const want of wanted) want.name = nameOf(want.code);
    const asks = wanted.map(({ marker, name }) =>
      labelAround(marker, measureLabel(name.text.textContent, fontOf(name.text))),
    );
    const spots = placeLabels(obstacles, asks, size.width, size.height);
    wanted.forEach(({ name }, i) => showName(name, spots[i], asks[i]));
    const placed = new Set(wanted.filter((_, i) => spots[i]).map(({ code }) => code));
    for (const [code, name] of names) if (!placed.has(code)) showName(name, null);
  }

  /** The site's name, made the first time it is wanted, with its status for its colour. */
  function nameOf(code) {
    const site = sites().get(code);
    let name = names.get(code);
    if (!name) {
      name = {
        text: svg('text', { class: 'map-label', dataset: { label: code } }, shortName(site.name)),
        line: svg('line', { class: 'map-leader' }),
      };
      names.set(code, name);
      labels.append(name.line, name.text);
    }
    name.text.dataset.status = shownStatus(site);
    return name;
  }

  /** Puts a name on its spot ({box, leader}), or hides it (spot null). */
  function showName({ text, line }, spot, ask) {
    text.classList.toggle('is-hidden', !spot);
    line.classList.toggle('is-hidden', !spot?.leader);
    if (!spot) return;
    writeLabel(text, spot.box, ask);
    if (spot.leader) setAttrs(line, lineAttrs(spot.leader));
  }

  /** The site under the pointer (a marker element, or null) gets its name, room or not. */
  function point(node) {
    const marker = markers.get(node?.dataset.site);
    const hidden = !marker?.visible || !marker.at;
    pointed.classList.toggle('is-hidden', hidden);
    if (hidden) return;
    const text = shortName(sites().get(node.dataset.site).name);
    pointed.textContent = text;
    const ask = labelAround(marker, measureLabel(text, fontOf(pointed)));
    writeLabel(pointed, firstFit(ask, size.width, size.height), ask);
  }

  function update(codes) {
    for (const code of codes) dirty.add(code);
    onNextFrame('map', flush);
  }

  function flush() {
    for (const code of dirty) {
      const marker = markers.get(code);
      const site = sites().get(code);
      if (!marker || !site) continue;
      paint(marker, site);
      show(marker, filters.matches(site));
    }
    dirty.clear();
    placeNames(); // a site in or out of trouble changes whose names are worth their room
  }

  function relabel() {
    root.setAttribute('aria-label', t('map.aria'));
    for (const [code, marker] of markers) paint(marker, sites().get(code));
  }

  /** A site's tile has the focus (code) or lost it (null): point at it on the map too. */
  function pointAt(code) {
    point(code ? markers.get(code)?.node : null);
  }

  return { rebuild, update, refilter: fit, relabel, pointAt };
}

/** null: the site goes unnamed; else lower ranks are named first. */
function nameRank(site) {
  const rank = NAME_RANK[shownStatus(site)];
  if (rank !== undefined) return rank;
  return NAMED_LEVELS.has(site.level) ? 2 : null;
}

function lineAttrs([x1, y1, x2, y2]) {
  return { x1, y1, x2, y2 };
}

function boxAround({ at: [x, y], size }) {
  const half = size / 2;
  return { left: x - half, top: y - half, right: x + half, bottom: y + half };
}

/** What labels.js needs to place a text of this size (measureLabel's) around this marker. */
function labelAround({ at: [x, y], size }, { width, height, ascent }) {
  return { x, y, radius: size / 2, width, height, ascent };
}

/** Writes a label's text in the middle of its box: x is its start, y its baseline. */
function writeLabel(node, box, { width, height, ascent }) {
  const x = (box.left + box.right - width) / 2;
  const y = (box.top + box.bottom - height) / 2 + ascent;
  setAttrs(node, { x, y });
}

function fontOf(node) {
  const style = getComputedStyle(node);
  return `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
}

function place(marker, [x, y]) {
  const { node, size } = marker;
  marker.at = [x, y];
  node.setAttribute('transform', `translate(${x.toFixed(1)} ${y.toFixed(1)}) scale(${size / 20})`);
}

/** [lat, lon] -> [x, y] in px: equirectangular, x shrunk by cos(latitude) so shapes look right. */
function projection(shown, width, height) {
  if (!shown.length) return () => [width / 2, height / 2];
  const lats = shown.map((s) => s.lat);
  const lons = shown.map((s) => s.lon);
  const [south, north] = [Math.min(...lats), Math.max(...lats)];
  const [west, east] = [Math.min(...lons), Math.max(...lons)];
  const squeeze = Math.cos((((south + north) / 2) * Math.PI) / 180);
  const spanX = Math.max((east - west) * squeeze, 1e-6);
  const spanY = Math.max(north - south, 1e-6);
  const scale = Math.min((width - 2 * PADDING) / spanX, (height - 2 * PADDING) / spanY);
  // Centre the drawing in the box that is not filled by the tighter dimension.
  const offsetX = (width - spanX * scale) / 2;
  const offsetY = (height - spanY * scale) / 2;
  return (site) => [
    offsetX + (site.lon - west) * squeeze * scale,
    offsetY + (north - site.lat) * scale,
  ];
}

function setAttrs(node, values) {
  for (const [name, value] of Object.entries(values)) {
    node.setAttribute(name, Number.isFinite(value) ? value.toFixed(1) : value);
  }
}

/**
 * One shape per status, centred on 0,0 in a 20×20 box: the tiles' icons (● ▲ ✖ ? ◆ ‖). One plain
 * path per marker: 3,321 <use> elements made every repaint of the national map slow.
 */
const SHAPES = {
  up: 'M-8 0a8 8 0 1 0 16 0a8 8 0 1 0-16 0Z',
  degraded: 'M0-9L9.5 8H-9.5Z',
  down: 'M-6-9L0-3L6-9L9-6L3 0L9 6L6 9L0 3L-6 9L-9 6L-3 0L-9-6Z',
  // A square with a "?" cut out of it (the path's fill-rule is evenodd).
  unknown:
    'M-8-8h16v16h-16Z M-3.5-3C-3.5-7.5 3.5-7.5 3.5-3C3.5-0.5 1 0 1 2.5H-1C-1-1 1.5-1.2 ' +
    '1.5-3C1.5-5.2-1.5-5.2-1.5-3Z M-1 4h2v2.5h-2Z',
  maintenance: 'M0-9L9 0L0 9L-9 0Z',
  paused: 'M-7-8h5v16h-5Z M2-8h5v16h-5Z',
  // A ring (○): a site nobody probes has no state to fill it with.
  unmonitored: 'M-8 0a8 8 0 1 0 16 0a8 8 0 1 0-16 0Z M-4.5 0a4.5 4.5 0 1 0 9 0a4.5 4.5 0 1 0-9 0Z',
};
