// Re-checks from the readiness board (operators only): a full check of one site, or of every
// site of the conference, now (POST .../recheck). The check runs on the monitor within seconds;
// the board shows its outcome and time at its next read, asked for a moment later.
import { request } from '../js/api.js';
import { setText } from '../js/dom.js';
import { conferencePath } from './http.js';
import { t } from './i18n.js';

const RESULT_MS = 3000; // a full check takes a few seconds: read the board again after that

export function createRechecks(root, { id, refresh }) {
  const bar = root.querySelector('.recheck-bar');
  const message = root.querySelector('.recheck-message');

  function say(text, isError = false) {
    setText(message, text);
    message.classList.toggle('error', isError);
  }

  async function ask(path, done) {
    say('');
    try {
      say(done(await request('POST', path)));
    } catch (error) {
      say(t('recheck.refused', { detail: error.message }), true);
      return;
    }
    setTimeout(refresh, RESULT_MS);
  }

  root.querySelector('.recheck-all').addEventListener('click', () => ask(
    `${conferencePath(id)}/recheck`,
    (asked) => t('recheck.askedAll', { n: asked.sites.length }),
  ));

  return {
    /** For the board's button of one site. */
    one(code, name) {
      const path = `/api/v1/sites/${encodeURIComponent(code)}/recheck`;
      return ask(path, () => t('recheck.asked', { site: name }));
    },
    show(allowed) {
      bar.hidden = !allowed;
    },
  };
}
