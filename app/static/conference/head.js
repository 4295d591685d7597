// The conference's heading: title, date and times in its own time zone, the phase in words and
// a countdown to the next switch (the start in pre-flight, the end while live), ticking every
// second from the service's clock (the offset of the screen's clock is measured at each read).
import { setText } from '../js/dom.js';
import { t } from './i18n.js';
import { countdown, dateIn, timeIn } from './zone.js';

/** When the phase after `phase` begins, from the conference's `phases` (past and planned). */
export function nextSwitch(conference) {
  const order = ['planned', 'preflight', 'live', 'ended'];
  const now = order.indexOf(conference.phase);
  const next = conference.phases.find((p) => order.indexOf(p.phase) > now);
  return next ?? null;
}

const COUNTDOWN_KEYS = { preflight: 'countdown.preflight', live: 'countdown.start', ended: 'countdown.end' };

export function renderHead(root, conference) {
  const zone = conference.time_zone;
  const live = conference.phases.find((p) => p.phase === 'live');
  const end = conference.phases.find((p) => p.phase === 'ended');
  document.title = `${conference.title} — BridgeWatch`;
  setText(root.querySelector('.conf-title'), conference.title);
  setText(root.querySelector('.conf-when'), t('when.range', {
    date: dateIn(live?.at ?? conference.starts_at, zone),
    from: timeIn(live?.at ?? conference.starts_at, zone),
    to: timeIn(end?.at ?? conference.ends_at, zone),
  }));
  setText(root.querySelector('.conf-zone'), t('when.zone', { zone }));
  const phase = root.querySelector('.conf-phase');
  phase.dataset.phase = conference.phase;
  setText(phase, t(`phase.${conference.phase}`));
}

/** The countdown's words at `now` (the service's clock), or '' once ended. */
export function countdownText(conference, now) {
  const next = nextSwitch(conference);
  if (!next) return '';
  const { days, hms } = countdown((new Date(next.at).getTime() - now) / 1000);
  const time = days ? t('countdown.days', { d: days, hms }) : hms;
  return t(COUNTDOWN_KEYS[next.phase], { time });
}
