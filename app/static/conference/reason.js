// Why a site is not ready, in the page's language. The readiness board states it in English in
// a few fixed forms (monitor/conference/readiness.py): "up", "up for 2 of 5 min",
// "<status>: <why>" with the monitor's own reason after the colon ("down: 3 heartbeats
// missed", "degraded: no picture (black)", "unknown: never connected"), or the reason alone for
// a site paused or in a maintenance window ("maintenance: <note>"), "no full check yet", or
// "full check failed: <part>; <part>" (monitor/probe/full_check.py). The monitor's reasons are
// told again by the dashboard's reason.js.
import { explain } from '../js/reason.js';
import { t } from './i18n.js';

const STATUSES = new Set(['up', 'degraded', 'down', 'unknown', 'maintenance', 'paused']);

export function statusWord(status) {
  return STATUSES.has(status) ? t(`status.${status}`) : status;
}

// What a full check found wrong, one part at a time; the room's picture and sound are told as
// the dashboard tells them.
function checkPart(part) {
  if (part === 'no data channel') return t('check.noChannel');
  if (part === 'media check: no video') return t('check.noVideo');
  if (part === 'check could not run') return t('check.notRun');
  const media = /^media check failed \((.*)\)$/.exec(part);
  if (media) return t('check.mediaFailed', { error: media[1] });
  return explain(part);
}

export function readinessReason(reason) {
  if (reason === 'up') return t('ready.yes');
  if (reason === 'no full check yet') return t('ready.noCheck');
  const failed = /^full check failed: (.*)$/.exec(reason);
  if (failed) {
    return t('ready.checkFailed', { why: failed[1].split('; ').map(checkPart).join('; ') });
  }
  const upFor = /^up for (\d+) of (\d+) min$/.exec(reason);
  if (upFor) return t('ready.upFor', { m: upFor[1], n: upFor[2] });
  const said = /^(\w+): (.*)$/.exec(reason);
  if (said && STATUSES.has(said[1])) {
    const [, status, why] = said;
    if (why === 'never connected') return t('ready.never');
    if (why === status) return statusWord(status);
    return t('ready.why', { status: statusWord(status), why: explain(why) });
  }
  return explain(reason);
}
