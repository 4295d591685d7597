// The printable sheet of join cards that goes to the communes: one card per site of a district
// (?parent=CODE) or of the whole network, with the site's name and code, its one-time join link
// as text and as a QR code, and three lines of instructions. Made with the operator's token of
// the dashboard (same origin, same storage); Vietnamese unless the dashboard is in English.
import { makeAgentLinks, qrImage } from './enrol.js';
import { el, setText } from './dom.js';
import { t, translateStatic } from './i18n.js';
import { dayClock } from './text.js';
import { getToken } from './token.js';

const message = document.getElementById('sheet-message');
const printButton = document.getElementById('sheet-print');

translateStatic();
printButton.addEventListener('click', () => window.print());
render();

async function render() {
  if (!getToken()) return setText(message, t('links.signIn'));
  const parent = new URLSearchParams(location.search).get('parent') || null;
  setText(message, t('links.loading'));
  let links;
  try {
    links = (await makeAgentLinks(parent)).items;
  } catch (error) {
    return setText(message, t('links.failed', { detail: error.message }));
  }
  const scope = parent ? (links.find((l) => l.site_code === parent)?.site_name ?? parent) : t('links.all');
  setText(document.getElementById('sheet-scope'), t('links.of', { count: links.length, scope }));
  document.getElementById('cards').replaceChildren(...links.map(card));
  setText(message, '');
  printButton.hidden = false;
}

function card(link) {
  return el('article', { class: 'card', dataset: { site: link.site_code } }, [
    el('h2', {}, link.site_name),
    el('p', { class: 'code' }, t('links.code', { code: link.site_code })),
    qrImage(link.qr_svg, t('agent.qr', { name: link.site_name })),
    el('ol', { class: 'steps' }, [
      el('li', {}, t('links.step1')),
      el('li', {}, t('links.step2')),
      el('li', {}, t('links.step3')),
    ]),
    el('p', { class: 'url' }, link.url),
    el('p', { class: 'expires' }, t('links.expires', { time: dayClock(link.expires_at) })),
  ]);
}
