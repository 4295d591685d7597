// The statuses the page shows and how they are told apart without relying on colour: each has a
// shape (also used by the map's markers) and a name in the catalogues. Colours live in style.css.
// Six come from the service; "unmonitored" is the page's own: a site nobody probes by design.
export const STATUSES = [
  'up', 'degraded', 'down', 'unknown', 'maintenance', 'paused', 'unmonitored',
];

// "Worst first": what needs a technician now comes first; sites in a maintenance window are
// planned work, paused (disabled) sites out of service, and a site that is not probed has
// nothing to tell.
const WORST_FIRST = [
  'down', 'degraded', 'unknown', 'up', 'maintenance', 'paused', 'unmonitored',
];

export const ICONS = {
  up: '●',
  degraded: '▲',
  down: '✖',
  unknown: '?',
  maintenance: '◆',
  paused: '‖',
  unmonitored: '○',
};

export const LEVELS = ['hub', 'province', 'district', 'commune'];

/**
 * The status a site is shown with. A site with probe_mode "none" (the hub, where the monitor
 * itself runs) is never probed: its stored status stays "unknown" forever and says nothing, so
 * it is shown as not monitored. A disabled one stays "paused": maintenance must show. (While the
 * monitor's own link is out, the service itself sends a site that reads down as "unknown", not
 * observable: nobody should run to 171 communes for a cable in the server room.)
 */
export function shownStatus(site) {
  if (site.probe_mode === 'none' && site.status !== 'paused') return 'unmonitored';
  return site.status;
}

/** 0 for the worst status (down), higher is better; unknown values sort last. */
export function severityRank(status) {
  const rank = WORST_FIRST.indexOf(status);
  return rank < 0 ? WORST_FIRST.length : rank;
}

export function isProblem(status) {
  return status === 'down' || status === 'degraded';
}
