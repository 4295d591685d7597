// The incident feed: open incidents first (newest first), then recently closed ones. Items are
// kept by id and updated in place, so an operator typing an acknowledgement note never loses it
// when another incident arrives. A group incident (a district's link: most of its communes down
// together) is one line, its communes' incidents folded under it.
import { acknowledge } from './api.js';
import { el, reorder, setText } from './dom.js';
import { onNextFrame } from './frame.js';
import { t, translateStatic } from './i18n.js';
import { ICONS, severityRank } from './status.js';
import { duration, shortClock, since } from './text.js';

const MAX_OPEN = 100;
const MAX_CLOSED = 30;

export function createIncidents(
  lists,
  { incidents, sites, heard, canAck, onOpenSite, onAcknowledged },
) {
  const items = new Map(); // id -> {node, parts}
  const empty = document.getElementById('incidents-empty');
  const more = document.getElementById('incidents-more');
  const closedBox = document.getElementById('incidents-closed-box');
  const closedCount = document.getElementById('incidents-closed-count');
  // On a phone the history waits behind a tap; on the wall it is open.
  closedBox.open = !window.matchMedia('(max-width: 760px)').matches;

  function draw() {
    const { open, closed, hidden, folded } = pick([...incidents().values()]);
    const keep = new Set([...open, ...closed].map((incident) => incident.id));
    for (const [id, item] of items) {
      if (!keep.has(id)) {
        item.node.remove();
        items.delete(id);
      }
    }
    place(lists.open, open, folded);
    place(lists.closed, closed, folded);
    empty.hidden = open.length + closed.length > 0;
    // Before the first snapshot the feed is waiting, not empty: "no incidents" would be a lie.
    empty.dataset.i18n = heard() ? 'incidents.empty' : 'incidents.waiting';
    setText(empty, t(empty.dataset.i18n));
    closedBox.hidden = closed.length === 0;
    setText(closedCount, String(closed.length));
    more.hidden = hidden === 0;
    setText(more, t('incidents.more', { count: hidden }));
  }

  /** Puts the incidents' items into `list` in this order (an item being edited stays put). */
  function place(list, shown, folded) {
    const nodes = shown.map((incident) => {
      const item = items.get(incident.id) ?? create(incident);
      fill(item, incident);
      if (item.parts.children) fillGroup(item, incident, folded.get(incident.id) ?? []);
      return item.node;
    });
    reorder(list, nodes);
  }

  function create(incident) {
    const parts = {
      icon: el('span', { class: 'inc-icon', 'aria-hidden': 'true' }),
      site: el('button', { type: 'button', class: 'inc-site linklike' }),
      severity: el('span', { class: 'inc-severity' }),
      time: el('div', { class: 'inc-time' }),
      ack: el('div', { class: 'inc-ack' }),
      actions: el('div', { class: 'inc-actions' }),
    };
    if (incident.kind === 'group' || incident.kind === 'monitor_link') {
      parts.cause = el('div', { class: 'inc-cause' });
      parts.count = el('span');
      parts.children = el('ul', { class: 'inc-children-list' });
      // Folded until asked: the line says what broke, the communes are there for who wants them.
      parts.fold = el('details', { class: 'inc-children' }, [
        el('summary', {}, [parts.count]),
        parts.children,
      ]);
    }
    parts.site.addEventListener('click', () => onOpenSite(incident.site_code));
    const dataset = { incident: String(incident.id), kind: incident.kind ?? 'site' };
    const node = el('li', { class: 'incident', dataset }, [
      el('div', { class: 'inc-head' }, [parts.icon, parts.site, parts.severity]),
      parts.cause,
      parts.time,
      parts.ack,
      parts.fold,
      parts.actions,
    ]);
    const item = { node, parts, id: incident.id };
    items.set(incident.id, item);
    return item;
  }

  function fill(item, incident) {
    const { node, parts } = item;
    const open = !incident.closed_at;
    node.dataset.severity = incident.severity;
    node.dataset.state = open ? 'open' : 'closed';
    node.dataset.acknowledged = String(Boolean(incident.acknowledged_at));
    setText(parts.icon, ICONS[incident.severity] ?? '?');
    setText(parts.site, incident.site_name);
    const phase = t(open ? 'incident.open' : 'incident.closed');
    setText(parts.severity, `${t(`status.${incident.severity}`)} · ${phase}`);
    setText(parts.time, timeText(incident, open));
    setText(parts.ack, ackText(incident));
    parts.ack.classList.toggle('is-acked', Boolean(incident.acknowledged_at));
    const wantsForm = canAck() && !incident.acknowledged_at;
    if (!wantsForm) parts.actions.replaceChildren();
    else if (!parts.actions.firstChild) parts.actions.append(...ackControls(item));
    else translateStatic(parts.actions);
  }

  function fillGroup(item, group, children) {
    const { parts } = item;
    const link = group.kind === 'monitor_link';
    const family = link ? probedChildren(sites()) : probedChildren(sites(), group.site_code);
    const level = sites().get(group.site_code)?.level ?? 'district';
    const key = link ? 'incident.monitorLink' : `incident.group.${level}`;
    setText(
      parts.cause,
      family.length ? t(key, { down: children.length, total: family.length }) : (group.cause ?? ''),
    );
    setText(parts.count, t('incident.group.children', { count: children.length }));
    const sorted = [...children].sort((a, b) => a.site_name.localeCompare(b.site_name, 'vi'));
    parts.children.replaceChildren(
      ...sorted.map((child) => {
        const open = !child.closed_at;
        const name = el('button', { type: 'button', class: 'linklike inc-child-site' }, [
          child.site_name,
        ]);
        name.addEventListener('click', () => onOpenSite(child.site_code));
        const phase = t(open ? 'incident.open' : 'incident.closed');
        return el('li', { dataset: { state: open ? 'open' : 'closed' } }, [
          name,
          el('span', { class: 'inc-child-state' }, [` ${ICONS[child.severity] ?? '?'} ${phase}`]),
        ]);
      }),
    );
  }

  function ackControls(item) {
    const button = (type, name) =>
      el('button', { type, class: `ack-${name}`, 'data-i18n': `incident.ack.${name}` });
    const opener = button('button', 'open');
    const note = el('textarea', {
      class: 'ack-note',
      name: 'note',
      rows: 2,
      maxlength: 2000,
      'data-i18n-aria': 'incident.ack.note',
      'data-i18n-placeholder': 'incident.ack.note',
    });
    const submit = button('submit', 'submit');
    const cancel = button('button', 'cancel');
    const error = el('p', { class: 'ack-error', role: 'alert', hidden: true });
    const form = el('form', { class: 'ack-form', hidden: true }, [
      note,
      el('div', { class: 'ack-buttons' }, [submit, cancel]),
      error,
    ]);
    opener.addEventListener('click', () => {
      form.hidden = false;
      opener.hidden = true;
      note.focus();
    });
    cancel.addEventListener('click', () => {
      form.hidden = true;
      opener.hidden = false;
      opener.focus();
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      send(item.id, note.value.trim(), submit, error);
    });
    const controls = [opener, form];
    for (const node of controls) translateStatic(node);
    return controls;
  }

  async function send(id, note, submit, error) {
    submit.disabled = true;
    setText(submit, t('incident.ack.sending'));
    error.hidden = true;
    try {
      onAcknowledged(await acknowledge(id, note));
    } catch (failure) {
      setText(error, t('incident.ack.failed', { detail: failure.message }));
      error.hidden = false;
    } finally {
      submit.disabled = false;
      setText(submit, t('incident.ack.submit'));
    }
  }

  // Open durations grow by themselves.
  setInterval(() => update(), 30_000);

  function update() {
    onNextFrame('incidents', draw);
  }

  return { update, draw };
}

/**
 * Open ones (down before degraded, newest first), the most recently closed, how many left, and
 * the incidents folded under each group incident (by its id), which are not listed themselves.
 */
function pick(every) {
  const ids = new Set(every.map((incident) => incident.id));
  const folded = new Map();
  const all = [];
  for (const incident of every) {
    const group = incident.parent_incident_id;
    if (group != null && ids.has(group)) {
      if (!folded.has(group)) folded.set(group, []);
      folded.get(group).push(incident);
    } else all.push(incident);
  }
  const open = all
    .filter((i) => !i.closed_at)
    .sort((a, b) => severityRank(a.severity) - severityRank(b.severity) || by('opened_at')(a, b))
    .slice(0, MAX_OPEN);
  const closed = all
    .filter((i) => i.closed_at)
    .sort(by('closed_at'))
    .slice(0, MAX_CLOSED);
  return { open, closed, hidden: all.length - open.length - closed.length, folded };
}

/** The sites under `code` (or every site) the engine watches: a group's "of how many". */
function probedChildren(sites, code) {
  return [...sites.values()].filter(
    (site) =>
      (code === undefined || site.parent_code === code) &&
      site.enabled &&
      (site.probe_mode === 'push' || (site.probe_mode === 'pull' && site.probe_target)),
  );
}

const by = (field) => (a, b) => Date.parse(b[field]) - Date.parse(a[field]) || b.id - a.id;

function timeText(incident, open) {
  if (open) {
    const opened = incident.opened_at;
    return t('incident.since', { time: shortClock(opened), duration: since(opened) });
  }
  return t('incident.span', {
    start: shortClock(incident.opened_at),
    end: shortClock(incident.closed_at),
    duration: duration(incident.duration_seconds ?? 0),
  });
}

function ackText(incident) {
  if (!incident.acknowledged_at) return t('incident.unacked');
  const who = t('incident.acked', {
    who: incident.acknowledged_by,
    time: shortClock(incident.acknowledged_at),
  });
  return incident.ack_note ? `${who} — “${incident.ack_note}”` : who;
}
