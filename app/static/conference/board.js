// Pre-flight: the readiness board. "Sẵn sàng 169/171", the districts' counts, then every site,
// the not ready first (the API's order: the longest so first), with why in words, for how long,
// and whom to call: a tap on the number dials it from a phone.
import { el, setText } from '../js/dom.js';
import { duration } from '../js/text.js';
import { t } from './i18n.js';
import { readinessReason } from './reason.js';
import { clockIn } from './zone.js';

/** "tel:0912345678" from "0912 345 678": digits and a leading + only. */
export function telHref(phone) {
  const digits = phone.replace(/[^\d+]/g, '').replace(/(?!^)\+/g, '');
  return `tel:${digits}`;
}

export function contactCell(site) {
  if (!site.contact_name && !site.contact_phone) {
    return el('td', { class: 'contact dim' }, t('contact.none'));
  }
  const phone = site.contact_phone
    ? el('a', {
      class: 'tel',
      href: telHref(site.contact_phone),
      'aria-label': t('contact.call', { name: site.contact_name ?? '', phone: site.contact_phone }),
    }, site.contact_phone)
    : null;
  return el('td', { class: 'contact' }, [
    site.contact_name ? el('span', { class: 'contact-name' }, site.contact_name) : null,
    phone,
  ]);
}

export function districtName(name) {
  return name ?? t('district.none');
}

/** The state cell: why (not) ready, and when the last full check ran. */
function stateCell(site, timeZone) {
  const check = site.full_check;
  return el('td', { class: 'state' }, [
    el('span', { class: 'reason' }, readinessReason(site.reason)),
    check ? el('span', { class: 'checked dim' }, t(
      check.passed ? 'ready.checkedOk' : 'ready.checkedBad',
      { time: clockIn(check.at, timeZone) },
    )) : null,
  ]);
}

/**
 * `recheck(code, name)`, for operators only: each site gets a button asking for a full check
 * now (null: no buttons, as on a viewer's wall screen).
 */
export function renderReadiness(root, board, now, { timeZone, recheck = null }) {
  root.querySelector('.recheck-col').hidden = !recheck;
  setText(root.querySelector('.ready-count'), t('ready.title', board));
  setText(root.querySelector('.ready-rule'), t('ready.rule', { n: board.ready_after_minutes }));
  root.querySelector('.ready-districts').replaceChildren(
    ...board.districts.map((d) => el('li', {
      class: 'district', dataset: { district: d.code ?? '', full: String(d.ready === d.total) },
    }, [
      el('span', { class: 'district-name' }, districtName(d.name)),
      el('span', { class: 'district-count' }, t('ready.district', d)),
    ])),
  );
  root.querySelector('.ready-none').hidden = board.total > 0;
  root.querySelector('.ready-sites tbody').replaceChildren(
    ...board.sites.map((site) => el('tr', {
      dataset: { site: site.code, ready: String(site.ready), status: site.status },
    }, [
      el('td', { class: 'site' }, [
        el('span', { class: 'site-name' }, site.name),
        el('span', { class: 'site-district' }, districtName(site.district_name)),
      ]),
      stateCell(site, timeZone),
      el('td', { class: 'for' }, t('ready.for', {
        duration: duration((now - new Date(site.since).getTime()) / 1000),
      })),
      contactCell(site),
      recheck ? el('td', { class: 'recheck' }, el('button', {
        type: 'button',
        class: 'control',
        'aria-label': t('recheck.one', { site: site.name }),
        onclick: () => recheck(site.code, site.name),
      }, t('recheck.button'))) : null,
    ])),
  );
}
