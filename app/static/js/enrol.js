// Join links for site agents, for operators: in the site panel, a one-time link with its QR
// code that a commune technician opens on the conference PC (the agent page, /agent), and a way
// to cut the enrolled browser off. The link is made on request and shown until the panel closes;
// it never goes into the page's state or the URL.
import { request } from './api.js';
import { el, setText } from './dom.js';
import { t } from './i18n.js';
import { dayClock } from './text.js';

export function makeAgentLink(code) {
  return request('POST', `/api/v1/sites/${encodeURIComponent(code)}/agent-link`, {});
}

export function makeAgentLinks(parent) {
  return request('POST', '/api/v1/agent-links', { parent });
}

function revokeAgent(code) {
  return request('DELETE', `/api/v1/sites/${encodeURIComponent(code)}/agent`);
}

/** The QR code as an image: the SVG stays data, never markup parsed into the page. */
export function qrImage(svg, label) {
  const src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  return el('img', { class: 'qr', src, alt: label });
}

/** Whether a site can have an agent link: enabled, and probed (the hub is not). */
export function joinable(site) {
  return site.enabled && site.probe_mode !== 'none';
}

export function createAgentSection(section) {
  const output = section.querySelector('#agent-link');
  const makeButton = section.querySelector('#agent-link-make');
  const revokeButton = section.querySelector('#agent-revoke');
  let code = null;

  makeButton.addEventListener('click', () => act(makeLink));
  revokeButton.addEventListener('click', () => {
    if (window.confirm(t('agent.revokeConfirm'))) act(revoke);
  });

  async function act(action) {
    const wanted = code;
    makeButton.disabled = revokeButton.disabled = true;
    try {
      await action(wanted);
    } catch (error) {
      if (wanted === code) output.replaceChildren(el('p', { class: 'agent-error' }, error.message));
    } finally {
      makeButton.disabled = revokeButton.disabled = false;
    }
  }

  async function makeLink(wanted) {
    const link = await makeAgentLink(wanted);
    if (wanted !== code) return;
    output.replaceChildren(...linkView(link));
  }

  async function revoke(wanted) {
    await revokeAgent(wanted);
    if (wanted === code) output.replaceChildren(el('p', { class: 'agent-done' }, t('agent.revoked')));
  }

  /** Shows the section for `site` (or hides it); a link made for another site is dropped. */
  function show(site, canManage) {
    section.hidden = !(canManage && site && joinable(site));
    if (site?.code !== code) {
      code = site?.code ?? null;
      output.replaceChildren();
    }
  }

  return { show, relabel: () => output.replaceChildren() };
}

function linkView(link) {
  const field = el('input', { class: 'agent-url', type: 'text', readonly: true, value: link.url });
  const copy = el('button', { type: 'button', class: 'control' }, t('agent.copy'));
  copy.addEventListener('click', async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(link.url);
      setText(copy, t('agent.copied'));
    } catch {
      setText(copy, t('agent.copyByHand')); // no clipboard on plain http: the field is selected
    }
  });
  return [
    qrImage(link.qr_svg, t('agent.qr', { name: link.site_name })),
    el('div', { class: 'agent-link-text' }, [
      field,
      copy,
      el('p', {}, t('agent.expires', { time: dayClock(link.expires_at) })),
      el('p', { class: 'agent-hint' }, t('agent.hint')),
    ]),
  ];
}
