// Where the map's names go. Greedy placement: labels, most important first, each try positions
// around their marker, nearest first, and take the first that stays inside the map and covers
// no marker, no label and no leader placed before. A label set farther out than right next to
// its marker gets a leader line to it, which crosses no other label or leader. A label that finds
// no room is left out (the map names a site when it is pointed at). Boxes are {left, top, right,
// bottom} in the map's pixels.

const GAP = 2; // px between a marker and its label
const MARGIN = 1; // px kept free around each label, so neighbours never touch
const RINGS = [0, 8, 16, 28, 40, 56]; // px farther out than next to the marker; 0 needs no leader
const STEP = 2; // px between the points a leader is checked at
const CELL = 32; // px, the side of a cell of the spatial index

/**
 * obstacles: boxes nothing may cover (the markers). labels: [{x, y, radius, width, height}]
 * in priority order, (x, y) the marker's centre and radius half its size. Returns for each
 * label {box, leader} (leader: [x1, y1, x2, y2] from the marker's edge, or null), or null where
 * there was no room.
 */
export function placeLabels(obstacles, labels, width, height) {
  const taken = new BoxIndex(); // what a label may not cover
  const named = new BoxIndex(); // what a leader may not cross: labels and leaders
  for (const box of obstacles) taken.add(box);
  return labels.map((label) => {
    for (const spot of candidates(label)) {
      if (!inside(spot.box, width, height) || taken.hits(spot.box)) continue;
      const points = spot.leader ? along(spot.leader) : [];
      if (points.some((point) => named.hits(point))) continue;
      for (const box of [spot.box, ...points]) {
        taken.add(box);
        named.add(box);
      }
      return spot;
    }
    return null;
  });
}

/** The nearest box around the marker that stays inside the map, free or not (a pointer). */
export function firstFit(label, width, height) {
  const near = candidates(label).filter((spot) => !spot.leader);
  return (near.find((spot) => inside(spot.box, width, height)) ?? near[0]).box;
}

/** Spots of one label around its marker, best first: above, below, right, left, corners;
 * then the same farther out, with a leader. */
function candidates(label) {
  const { x, y, radius, width, height } = label;
  const w = width + 2 * MARGIN;
  const h = height + 2 * MARGIN;
  const at = (left, top) => ({ left, top, right: left + w, bottom: top + h });
  return RINGS.flatMap((ring) => {
    const near = radius + GAP + ring;
    const boxes = [
      at(x - w / 2, y - near - h),
      at(x - w / 2, y + near),
      at(x + near, y - h / 2),
      at(x - near - w, y - h / 2),
      at(x + near, y - near - h),
      at(x - near - w, y - near - h),
      at(x + near, y + near),
      at(x - near - w, y + near),
    ];
    return boxes.map((box) => ({ box, leader: ring ? leader(label, box) : null }));
  });
}

/** From the marker's edge to the nearest point of the label's box. */
function leader({ x, y, radius }, box) {
  const toX = Math.min(Math.max(x, box.left), box.right);
  const toY = Math.min(Math.max(y, box.top), box.bottom);
  const length = Math.hypot(toX - x, toY - y);
  const [dx, dy] = [(toX - x) / length, (toY - y) / length];
  return [x + dx * radius, y + dy * radius, toX, toY];
}

/** Tiny boxes every STEP px along a leader, short of its label's box. */
function along([x1, y1, x2, y2]) {
  const steps = Math.floor(Math.hypot(x2 - x1, y2 - y1) / STEP);
  const points = [];
  for (let i = 0; i < steps; i += 1) {
    const [x, y] = [x1 + ((x2 - x1) * i) / steps, y1 + ((y2 - y1) * i) / steps];
    points.push({ left: x - 0.5, top: y - 0.5, right: x + 0.5, bottom: y + 0.5 });
  }
  return points;
}

function inside(box, width, height) {
  return box.left >= 0 && box.top >= 0 && box.right <= width && box.bottom <= height;
}

function overlap(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

/** Boxes filed by the grid cells they touch: a test looks at its neighbours only (3,356 sites
 * on the national map). */
class BoxIndex {
  constructor() {
    this.cells = new Map();
  }

  add(box) {
    for (const key of cellsOf(box)) {
      const list = this.cells.get(key);
      if (list) list.push(box);
      else this.cells.set(key, [box]);
    }
  }

  hits(box) {
    for (const key of cellsOf(box)) {
      if (this.cells.get(key)?.some((other) => overlap(box, other))) return true;
    }
    return false;
  }
}

function* cellsOf(box) {
  const [left, right] = [Math.floor(box.left / CELL), Math.floor(box.right / CELL)];
  const [top, bottom] = [Math.floor(box.top / CELL), Math.floor(box.bottom / CELL)];
  for (let col = left; col <= right; col += 1) {
    for (let row = top; row <= bottom; row += 1) yield `${col},${row}`;
  }
}

// Text is measured on a canvas in the labels' own font: no layout of the page is forced.
const measured = new Map(); // font + text -> {width, ascent, height}
let pen = null;

/** The size of `text` drawn in `font` (a CSS font shorthand), and its baseline's depth. */
export function measureLabel(text, font) {
  const key = `${font}\n${text}`;
  if (!measured.has(key)) {
    pen ??= document.createElement('canvas').getContext('2d');
    pen.font = font;
    const metrics = pen.measureText(text);
    const ascent = metrics.fontBoundingBoxAscent;
    const height = ascent + metrics.fontBoundingBoxDescent;
    measured.set(key, { width: metrics.width, ascent, height });
  }
  return measured.get(key);
}
