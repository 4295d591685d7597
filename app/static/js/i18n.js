// Language: Vietnamese by default, English on request (?lang=en for one visit, or the switch in
// the header, remembered in localStorage). t() is the only way text reaches the page.
import vi from '../i18n/vi.js';
import en from '../i18n/en.js';

const CATALOGUES = { vi, en };
const STORAGE_KEY = 'bw.lang';
const listeners = new Set();
let lang = initialLang(CATALOGUES);

/** ?lang= for one visit, else the remembered choice, else Vietnamese (the agent page too). */
export function initialLang(catalogues) {
  const asked = new URLSearchParams(location.search).get('lang');
  if (asked in catalogues) return asked;
  const stored = localStorage.getItem(STORAGE_KEY);
  return stored in catalogues ? stored : 'vi';
}

export function currentLang() {
  return lang;
}

/** The text for `key` in the current language, with {placeholders} filled from `params`. */
export function t(key, params = {}) {
  return lookup(CATALOGUES[lang], key, params);
}

/** `key` in `catalogue`, with {placeholders} filled from `params` (the agent page too). */
export function lookup(catalogue, key, params = {}) {
  const text = catalogue[key];
  if (text === undefined) {
    console.warn('missing translation', lang, key);
    return key; // visible on purpose: a missing string must be noticed, not hidden
  }
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ''));
}

export function setLang(next) {
  if (!(next in CATALOGUES) || next === lang) return;
  lang = next;
  localStorage.setItem(STORAGE_KEY, next);
  translateStatic();
  for (const listener of listeners) listener();
}

/** `listener` runs after every language change, to redraw text built in JS. */
export function onLangChange(listener) {
  listeners.add(listener);
}

/** Fills data-i18n* attributes (text, aria-label, placeholder) in `root` and below it. */
export function translateStatic(root = document) {
  if (root === document) document.documentElement.lang = lang;
  const selector = '[data-i18n], [data-i18n-aria], [data-i18n-placeholder]';
  const nodes = [...root.querySelectorAll(selector)];
  if (root instanceof Element) nodes.unshift(root);
  for (const node of nodes) {
    const { i18n, i18nAria, i18nPlaceholder } = node.dataset;
    if (i18n) node.textContent = t(i18n);
    if (i18nAria) node.setAttribute('aria-label', t(i18nAria));
    if (i18nPlaceholder) node.setAttribute('placeholder', t(i18nPlaceholder));
  }
}

/** Both catalogues, for the test that checks they hold the same keys. */
export const catalogues = CATALOGUES;
