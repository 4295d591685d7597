// Times in the conference's own time zone (Asia/Ho_Chi_Minh unless it says otherwise), whatever
// the zone of the screen showing them: a wall screen in a hall abroad reads the hall's clock.
import { locale } from './i18n.js';

function format(at, timeZone, options) {
  return new Intl.DateTimeFormat(locale(), { timeZone, ...options }).format(new Date(at));
}

/** "Thứ Tư, 2 tháng 12, 2026" / "Wednesday 2 December 2026". */
export function dateIn(at, timeZone) {
  return format(at, timeZone, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
}

/** "07:30" on the 24-hour clock. */
export function timeIn(at, timeZone) {
  return format(at, timeZone, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

/** "02/12/2026 07:30". */
export function dateTimeIn(at, timeZone) {
  const options = { day: '2-digit', month: '2-digit', year: 'numeric' };
  return `${format(at, timeZone, options)} ${timeIn(at, timeZone)}`;
}

/** "07:30:05", for "updated at". */
export function clockIn(at, timeZone) {
  return format(at, timeZone, {
    hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  });
}

const pad = (n) => String(n).padStart(2, '0');

/** Seconds left as "1:05:09" (or "0:04:59"); days apart, e.g. [2, "3:00:00"]. */
export function countdown(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  const days = Math.floor(s / 86400);
  const rest = s % 86400;
  const hms = `${Math.floor(rest / 3600)}:${pad(Math.floor(rest / 60) % 60)}:${pad(rest % 60)}`;
  return { days, hms };
}
