// The map: each site's lat/lon on an equirectangular projection fitted to the sites shown,
// drawn as SVG (no tiles, no external data). Markers share the tiles' colour + shape coding.
import { svg } from './dom.js';
import { onNextFrame } from './frame.js';
import { t } from './i18n.js';
import { isProblem } from './status.js';

const PADDING = 18; // px, so markers on the edge stay whole
const SIZE = { hub: 24, province: 20, district: 20, commune: 12 };

export function createMap(container, sites, filters, onOpen) {
  const root = svg('svg', { class: 'map-svg', role: 'img' }, [
    symbols(),
  ]);
  const links = svg('g', { class: 'map-links' });
  const labels = svg('g', { class: 'map-labels' });
  const markersLayer = svg('g', { class: 'map-markers' });
  root.append(links, labels, markersLayer);
  container.replaceChildren(root);
  root.setAttribute('aria-label', t('map.aria'));

  let markers = new Map(); // code -> {use, title, link, label}
  const dirty = new Set();

  root.addEventListener('click', (event) => {
    const marker = event.target.closest('[data-site]');
    if (marker) onOpen(marker.dataset.site);
  });
  new ResizeObserver(() => onNextFrame('map-fit', fit)).observe(container);

  function rebuild() {
    markers = new Map();
    links.replaceChildren();
    labels.replaceChildren();
    markersLayer.replaceChildren();
    for (const site of sites().values()) {
      if (site.lat === null || site.lon === null) continue;
      const marker = buildMarker(site);
      markers.set(site.code, marker);
      markersLayer.append(marker.use);
      if (marker.link) links.append(marker.link);
      if (marker.label) labels.append(marker.label);
    }
    fit();
  }

  function buildMarker(site) {
    const title = svg('title');
    const use = svg('use', { class: 'marker', dataset: { site: site.code, level: site.level } }, [
      title,
    ]);
    const marker = { use, title, size: SIZE[site.level] ?? SIZE.commune };
    const parent = sites().get(site.parent_code);
    if (site.level === 'commune' && parent?.lat != null) {
      marker.link = svg('line', { class: 'map-link' });
    }
    if (site.level === 'district' || site.level === 'province') {
      marker.label = svg('text', { class: 'map-label' }, site.name);
    }
    paint(marker, site);
    return marker;
  }

  function paint(marker, site) {
    const { use } = marker;
    if (use.dataset.status !== site.status) {
      use.dataset.status = site.status;
      use.setAttribute('href', `#m-${site.status}`);
      // Problems are drawn last, so a healthy neighbour never hides a site that is down.
      if (isProblem(site.status)) markersLayer.append(use);
    }
    marker.title.textContent = `${site.name} — ${t(`status.${site.status}`)}`;
  }

  /** Fits the projection to the sites that pass the filters (status aside: it changes often). */
  function fit() {
    const width = Math.max(container.clientWidth, 100);
    const height = Math.max(container.clientHeight, 100);
    root.setAttribute('viewBox', `0 0 ${width} ${height}`);
    const shown = [...markers.keys()]
      .map((code) => sites().get(code))
      .filter((site) => filters.matches(site, true));
    const project = projection(shown, width, height);
    for (const [code, marker] of markers) {
      const site = sites().get(code);
      const visible = filters.matches(site);
      marker.use.classList.toggle('is-hidden', !visible);
      marker.label?.classList.toggle('is-hidden', !visible);
      place(marker, project(site));
      if (marker.link) placeLink(marker, site, project, visible);
    }
  }

  function placeLink(marker, site, project, visible) {
    const parent = sites().get(site.parent_code);
    const [x1, y1] = project(site);
    const [x2, y2] = project(parent);
    setAttrs(marker.link, { x1, y1, x2, y2 });
    marker.link.classList.toggle('is-hidden', !visible || !filters.matches(parent, true));
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
      const visible = filters.matches(site);
      marker.use.classList.toggle('is-hidden', !visible);
    }
    dirty.clear();
  }

  function relabel() {
    root.setAttribute('aria-label', t('map.aria'));
    for (const [code, marker] of markers) paint(marker, sites().get(code));
  }

  return { rebuild, update, refilter: fit, relabel };
}

function place({ use, size, label }, [x, y]) {
  setAttrs(use, { x: x - size / 2, y: y - size / 2, width: size, height: size });
  if (label) setAttrs(label, { x, y: y - size / 2 - 4 });
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

/** One shape per status in a 20×20 box: the same shapes as the tiles' icons. */
function symbols() {
  const box = { viewBox: '0 0 20 20' };
  return svg('defs', {}, [
    svg('symbol', { id: 'm-up', ...box }, [svg('circle', { cx: 10, cy: 10, r: 8 })]),
    svg('symbol', { id: 'm-degraded', ...box }, [
      svg('polygon', { points: '10,1 19,18 1,18' }),
    ]),
    svg('symbol', { id: 'm-down', ...box }, [
      svg('polygon', {
        points: '4,1 10,7 16,1 19,4 13,10 19,16 16,19 10,13 4,19 1,16 7,10 1,4',
      }),
    ]),
    svg('symbol', { id: 'm-unknown', ...box }, [
      svg('rect', { x: 2, y: 2, width: 16, height: 16, rx: 4 }),
      svg('text', { x: 10, y: 15, class: 'marker-q' }, '?'),
    ]),
    svg('symbol', { id: 'm-paused', ...box }, [
      svg('rect', { x: 3, y: 2, width: 5, height: 16 }),
      svg('rect', { x: 12, y: 2, width: 5, height: 16 }),
    ]),
  ]);
}
