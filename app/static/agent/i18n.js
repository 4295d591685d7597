// Language of the agent page: Vietnamese by default, English on the switch (or ?lang=en for one
// visit), remembered in the browser like the dashboard's choice (the same storage key).
// The page's own words come from ./i18n/; the monitor's reasons and the figures' units are told
// by the dashboard's shared modules (reason.js, text.js), which read the dashboard's catalogues:
// its language is kept in step with this one.
import * as shared from '../js/i18n.js';
import vi from './i18n/vi.js';
import en from './i18n/en.js';

const CATALOGUES = { vi, en };
const STORAGE_KEY = 'bw.lang';
const listeners = new Set();
let lang = shared.initialLang(CATALOGUES);

export function currentLang() {
  return lang;
}

/** The text for `key` in the current language, with {placeholders} filled from `params`. */
export function t(key, params = {}) {
  return shared.lookup(CATALOGUES[lang], key, params);
}

export function setLang(next) {
  if (!(next in CATALOGUES)) return;
  if (shared.currentLang() !== next) shared.setLang(next); // reasons and units follow
  if (next === lang) return;
  lang = next;
  localStorage.setItem(STORAGE_KEY, next);
  translate();
  for (const listener of listeners) listener();
}

/** `listener` runs after every language change, to redraw text built in JS. */
export function onLangChange(listener) {
  listeners.add(listener);
}

/**
 * Fills data-t (text), data-t-aria (aria-label) and data-t-placeholder in the page. Not data-i18n: the dashboard's
 * module, kept in step here, fills those from its own catalogue.
 */
export function translate() {
  document.documentElement.lang = lang;
  for (const node of document.querySelectorAll('[data-t], [data-t-aria], [data-t-placeholder]')) {
    const { t: text, tAria: aria, tPlaceholder: placeholder } = node.dataset;
    if (text) node.textContent = t(text);
    if (aria) node.setAttribute('aria-label', t(aria));
    if (placeholder) node.setAttribute('placeholder', t(placeholder));
  }
}

/** Both catalogues, for the test that checks they hold the same keys. */
export const catalogues = CATALOGUES;
