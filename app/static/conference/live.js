// Live: delegates present against expected, overall and per district, the sites that have not
// reported a number yet, and every site's link, the sites in trouble first. Statuses come with
// the readiness board (it is read in every phase), the numbers with the attendance roll-up.
import { el, setText } from '../js/dom.js';
import { locale, t } from './i18n.js';
import { districtName } from './board.js';
import { readinessReason, statusWord } from './reason.js';

const TROUBLE = { down: 0, unknown: 1, degraded: 2, paused: 3, up: 4 };

function number(n) {
  return new Intl.NumberFormat(locale()).format(n);
}

function presentOf(present, expected) {
  return t('live.presentOf', { present: number(present), expected: number(expected) });
}

export function renderLive(root, attendance, board) {
  const statuses = new Map(board.sites.map((s) => [s.code, s]));
  const up = board.sites.filter((s) => s.status === 'up').length;
  setText(root.querySelector('.live-present'), presentOf(attendance.present, attendance.expected_delegates));
  setText(root.querySelector('.live-reported'), `${attendance.sites_reported}/${attendance.sites}`);
  setText(root.querySelector('.live-connected'), `${up}/${board.total}`);

  const upIn = (code) => board.sites.filter((s) => s.district_code === code && s.status === 'up').length;
  root.querySelector('.live-districts tbody').replaceChildren(
    ...attendance.districts.map((d) => el('tr', { dataset: { district: d.code ?? '' } }, [
      el('td', { class: 'district-name' }, districtName(d.name)),
      el('td', { class: 'num present' }, presentOf(d.present, d.expected_delegates)),
      el('td', { class: 'num reported' }, `${d.sites_reported}/${d.sites}`),
      el('td', { class: 'num connected' }, `${upIn(d.code)}/${d.sites}`),
    ])),
  );

  const silent = attendance.sites_detail.filter((s) => s.present === null);
  setText(root.querySelector('.live-silent-title'), t('live.silent', { n: silent.length }));
  root.querySelector('.live-silent-title').hidden = silent.length === 0;
  root.querySelector('.live-all-reported').hidden = silent.length > 0 || attendance.sites === 0;
  root.querySelector('.live-silent').replaceChildren(
    ...silent.map((s) => el('li', { dataset: { site: s.code } }, s.name)),
  );

  const rows = [...attendance.sites_detail].sort((a, b) => {
    const rank = (s) => TROUBLE[statuses.get(s.code)?.status] ?? 1;
    return rank(a) - rank(b) || a.code.localeCompare(b.code);
  });
  root.querySelector('.live-sites tbody').replaceChildren(...rows.map((s) => {
    const state = statuses.get(s.code);
    const status = state?.status ?? 'unknown';
    const why = state && status !== 'up' ? readinessReason(state.reason) : statusWord(status);
    return el('tr', { dataset: { site: s.code, status } }, [
      el('td', { class: 'site' }, s.name),
      el('td', { class: 'state' }, why),
      el('td', { class: 'num present' }, s.present === null
        ? t('live.notReported')
        : presentOf(s.present, s.expected_delegates)),
    ]);
  }));
}
