// Text helpers: accent-insensitive search keys and the formats of times, durations and figures.
import { t } from './i18n.js';

/** "Hòa An" -> "hoa an": NFD splits letters from their marks; đ has no decomposition. */
export function fold(text) {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[đĐ]/g, 'd')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

// Dense tiles show names the way Vietnamese tables abbreviate them: "TT. Nước Hai",
// "P. Sông Hiến", "Quang Trung" (xã and huyện need no prefix). Full names are everywhere else.
const PREFIXES = [
  ['Thành phố ', 'TP. '],
  ['Thị xã ', 'TX. '],
  ['Thị trấn ', 'TT. '],
  ['Phường ', 'P. '],
  ['Huyện ', ''],
  ['Xã ', ''],
  ['Tỉnh ', ''],
];

export function shortName(name) {
  for (const [prefix, short] of PREFIXES) {
    if (name.startsWith(prefix)) return short + name.slice(prefix.length);
  }
  return name;
}

const pad = (n) => String(n).padStart(2, '0');

/** HH:MM:SS in the browser's time zone (the hall's clock). */
export function clock(date) {
  if (!date) return t('value.none');
  const d = date instanceof Date ? date : new Date(date);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** DD/MM HH:MM (the Vietnamese order), for times days away: a join link's expiry. */
export function dayClock(date) {
  if (!date) return t('value.none');
  const d = date instanceof Date ? date : new Date(date);
  return `${pad(d.getDate())}/${pad(d.getMonth() + 1)} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** HH:MM, for places where seconds are noise (incident start and end). */
export function shortClock(date) {
  return clock(date).slice(0, 5);
}

export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return t('duration.seconds', { s });
  const m = Math.floor(s / 60);
  if (m < 60) return t('duration.minutes', { m });
  const h = Math.floor(m / 60);
  if (h < 24) return t('duration.hours', { h, m: m % 60 });
  return t('duration.days', { d: Math.floor(h / 24), h: h % 24 });
}

export function since(date, now = Date.now()) {
  return duration((now - new Date(date).getTime()) / 1000);
}

const isNumber = (value) => typeof value === 'number' && Number.isFinite(value);

export function millis(seconds) {
  return isNumber(seconds) ? t('unit.ms', { value: Math.round(seconds * 1000) }) : t('value.none');
}

export function percent(ratio) {
  return isNumber(ratio) ? t('unit.percent', { value: (ratio * 100).toFixed(1) }) : t('value.none');
}

export function score(value) {
  return isNumber(value) ? value.toFixed(2) : t('value.none');
}
