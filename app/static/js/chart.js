// A small SVG line chart of one figure over the last hour: time runs left to right, gaps where
// the site did not answer. Only two labels (the top of the scale and the latest value): it is
// read at a glance, next to the figures written out in full.
import { svg } from './dom.js';
import { t } from './i18n.js';
import { shortClock } from './text.js';

const WIDTH = 280;
const HEIGHT = 86;
const LEFT = 4;
const TOP = 20;
const BOTTOM = 16; // room for the start and end times under the axis

/**
 * points: [{at: Date, value: number|null}] oldest first; from/to: the time axis;
 * top: the smallest top of the scale (e.g. 5 for MOS); format: value -> label.
 */
export function lineChart({ title, points, from, to, top, format }) {
  const values = points.map((p) => p.value).filter((v) => v !== null);
  const max = Math.max(top, ...values);
  const span = Math.max(to - from, 1000); // one sample alone still gets a place
  const x = (at) => LEFT + ((at - from) / span) * (WIDTH - LEFT * 2);
  const y = (value) => HEIGHT - BOTTOM - (value / max) * (HEIGHT - TOP - BOTTOM);
  // The newest window's value: none when the site did not answer (an older figure would lie).
  const newest = points.at(-1)?.value;
  const last = newest === null || newest === undefined ? t('value.none') : format(newest);
  return svg(
    'svg',
    {
      class: 'chart',
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: 'img',
      'aria-label': t('chart.aria', { title, count: values.length, last }),
    },
    [
      svg('line', { class: 'chart-axis', x1: LEFT, x2: WIDTH - LEFT, y1: y(0), y2: y(0) }),
      svg('line', { class: 'chart-grid', x1: LEFT, x2: WIDTH - LEFT, y1: y(max), y2: y(max) }),
      svg('text', { class: 'chart-title', x: LEFT, y: 12 }, title),
      svg('text', { class: 'chart-last', x: WIDTH - LEFT, y: 12 }, last),
      svg('text', { class: 'chart-scale', x: LEFT + 2, y: y(max) + 10 }, format(max)),
      svg('text', { class: 'chart-time', x: LEFT, y: HEIGHT - 4 }, shortClock(from)),
      svg('text', { class: 'chart-time end', x: WIDTH - LEFT, y: HEIGHT - 4 }, shortClock(to)),
      svg('path', { class: 'chart-line', d: pathOf(points, x, y) }),
      ...gaps(points, x),
    ],
  );
}

/** "M x y L x y …", starting a new segment after every unanswered window. */
function pathOf(points, x, y) {
  let d = '';
  let pen = 'M';
  for (const { at, value } of points) {
    if (value === null) {
      pen = 'M';
      continue;
    }
    d += `${pen}${x(at).toFixed(1)} ${y(value).toFixed(1)} `;
    pen = 'L';
  }
  return d.trim();
}

/** A short mark on the axis for each window without an answer: the outage stays visible. */
function gaps(points, x) {
  return points
    .filter((p) => p.value === null && p.unreachable)
    .map((p) => {
      const mark = { x: x(p.at) - 1, y: HEIGHT - BOTTOM - 8, width: 2, height: 8 };
      return svg('rect', { class: 'chart-gap', ...mark });
    });
}
