// Why a site's status changed, in the page's language. The service states reasons in English
// (they are also stored and logged); the forms it uses are few and fixed (monitor/status.py,
// monitor/site_monitor.py, monitor/unwatched.py), so each is recognised here and told again
// from the catalogue.
// A reason of an unknown form is shown as the service wrote it.
import { t } from './i18n.js';

const SETUP_ERRORS = new Set([
  'agent_not_connected', 'bad_answer', 'bad_offer', 'no_secret', 'no_target', 'setup_timeout',
  'signaling_timeout', 'unauthorized', 'unreachable',
]);

const FORMS = [
  [/^(\d+) heartbeats missed$/, (n) => t('reason.missed', { n })],
  [/^set-up failed: (\w+)$/, (error) => t('reason.setup', { error: setupError(error) })],
  [/^disabled \(maintenance\)$/, () => t('reason.paused')],
  // A maintenance window's note is the operator's own words: shown as written.
  [/^maintenance$/, () => t('reason.maintenance')],
  [/^maintenance: ([^]*)$/, (note) => t('reason.maintenanceNote', { note })],
  [/^maintenance over$/, () => t('reason.maintenanceOver')],
  [/^link good$/, () => t('reason.good')],
  [/^link good for (\d+) windows$/, (n) => t('reason.goodFor', { n })],
  [/^not monitored: no worker holds the site$/, () => t('reason.unwatched')],
  [/^not observable: the monitor's own link is down$/, () => t('reason.notObservable')],
];

// One window's problems, as "RTT 350 ms, jitter 40 ms, loss 5%, MOS 3.2" (any of them).
const PROBLEMS = [
  [/^RTT (\d+) ms$/, (ms) => t('reason.rtt', { ms })],
  [/^jitter (\d+) ms$/, (ms) => t('reason.jitter', { ms })],
  [/^loss (\d+)%$/, (percent) => t('reason.loss', { percent })],
  [/^MOS ([\d.]+)$/, (mos) => t('reason.mos', { mos })],
  // The room's own camera and microphone, as the site's agent judged them.
  [/^no picture(?: \((black|frozen|no camera)\))?$/, (cause) => mediaFault('Picture', cause)],
  [/^no sound(?: \((silent|no microphone)\))?$/, (cause) => mediaFault('Sound', cause)],
];

const CAUSES = {
  black: 'reason.picture.black',
  frozen: 'reason.picture.frozen',
  'no camera': 'reason.picture.noCamera',
  silent: 'reason.sound.silent',
  'no microphone': 'reason.sound.noMicrophone',
};

/** "Không có hình (màn hình đen)": `what` is Picture or Sound, `cause` as the reason names it
 * (none: an old agent's fault, "Không có hình"). */
export function mediaFault(what, cause) {
  if (!cause) return t(`reason.no${what}`);
  return t(`reason.no${what}Why`, { cause: t(CAUSES[cause]) });
}

function setupError(error) {
  return SETUP_ERRORS.has(error) ? t(`reason.error.${error}`) : error;
}

function told(forms, text) {
  for (const [form, tell] of forms) {
    const match = form.exec(text);
    if (match) return tell(...match.slice(1));
  }
  return null;
}

function problems(reason) {
  const { head, streak } = reason.match(/^(?<head>.*?)(?: for (?<streak>\d+) windows)?$/).groups;
  const parts = head.split(', ').map((part) => told(PROBLEMS, part));
  if (parts.some((part) => part === null)) return null;
  const list = parts.join(', ');
  return streak ? t('reason.for', { list, n: streak }) : list;
}

/** `reason` in the current language, or as written when its form is not known. */
export function explain(reason) {
  if (!reason) return reason;
  return told(FORMS, reason) ?? problems(reason) ?? reason;
}
