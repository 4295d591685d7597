// Tiny helpers to build elements without innerHTML (text is always set as text, never parsed).
const SVG_NS = 'http://www.w3.org/2000/svg';

/** el('button', {class: 'x', dataset: {site: '040'}, onclick: f}, ['text', child]) */
export function el(tag, attrs = {}, children = []) {
  return fill(document.createElement(tag), attrs, children);
}

export function svg(tag, attrs = {}, children = []) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

function fill(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of [].concat(children)) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

/** Sets textContent only when it differs: avoids needless layout work on hot paths. */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/**
 * Makes `parent`'s children exactly `nodes`, in this order, moving only the nodes out of place:
 * cheaper than re-appending everything, and a node that stays put keeps its focus.
 */
export function reorder(parent, nodes) {
  let cursor = parent.firstElementChild; // walk siblings: indexing a live list is slow
  for (const node of nodes) {
    if (node === cursor) cursor = cursor.nextElementSibling;
    else parent.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextElementSibling;
    cursor.remove();
    cursor = next;
  }
}
