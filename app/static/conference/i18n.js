// Language of the conference pages: the dashboard's choice (js/i18n.js: Vietnamese by default,
// ?lang=en for one visit, the switch remembered in the browser), so the dashboard, these pages
// and the shared modules they use (reason.js, text.js, api.js, auth.js) always agree. These
// pages' own words come from ./i18n/, not from the dashboard's catalogues.
import * as shared from '../js/i18n.js';
import vi from './i18n/vi.js';
import en from './i18n/en.js';

const CATALOGUES = { vi, en };

export function currentLang() {
  return shared.currentLang();
}

/** The text for `key` in the current language, with {placeholders} filled from `params`. */
export function t(key, params = {}) {
  return shared.lookup(CATALOGUES[shared.currentLang()], key, params);
}

/** A BCP 47 locale for Intl: numbers and dates as the reader writes them. */
export function locale() {
  return shared.currentLang() === 'vi' ? 'vi-VN' : 'en-GB';
}

export function toggleLang() {
  shared.setLang(shared.currentLang() === 'vi' ? 'en' : 'vi');
}

/** `listener` runs after every language change (after this module's own translate()). */
export function onLangChange(listener) {
  shared.onLangChange(listener);
}

/**
 * Fills data-t (text), data-t-aria (aria-label) in `root` and data-i18n* (the dashboard's
 * words, e.g. the sign-in form) through the shared module.
 */
export function translate(root = document) {
  shared.translateStatic(root);
  for (const node of root.querySelectorAll('[data-t], [data-t-aria]')) {
    const { t: text, tAria: aria } = node.dataset;
    if (text) node.textContent = t(text);
    if (aria) node.setAttribute('aria-label', t(aria));
  }
}

shared.onLangChange(() => translate());

/** Both catalogues, for the test that checks they hold the same keys. */
export const catalogues = CATALOGUES;
