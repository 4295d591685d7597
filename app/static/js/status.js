// The five statuses and how they are told apart without relying on colour: each has a shape
// (also used by the map's markers) and a name in the catalogues. Colours live in style.css.
export const STATUSES = ['up', 'degraded', 'down', 'unknown', 'paused'];

// "Worst first": what needs a technician now comes first; paused sites are in maintenance.
const WORST_FIRST = ['down', 'degraded', 'unknown', 'up', 'paused'];

export const ICONS = { up: '●', degraded: '▲', down: '✖', unknown: '?', paused: '‖' };

export const LEVELS = ['hub', 'province', 'district', 'commune'];

/** 0 for the worst status (down), higher is better; unknown values sort last. */
export function severityRank(status) {
  const rank = WORST_FIRST.indexOf(status);
  return rank < 0 ? WORST_FIRST.length : rank;
}

export function isProblem(status) {
  return status === 'down' || status === 'degraded';
}
