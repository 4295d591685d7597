// The stale-data banner: shown as soon as the stream is lost (or silent past its limit), with
// the time of the last message received, so nobody trusts a frozen screen. The next snapshot
// (after an automatic reconnect) removes it.
import { setText } from './dom.js';
import { t } from './i18n.js';
import { clock } from './text.js';

export function createStaleBanner(banner) {
  let lastMessage = null;
  let stale = false;

  function draw() {
    banner.hidden = !stale;
    document.body.classList.toggle('is-stale', stale);
    if (!stale) return;
    const what = lastMessage ? t('stale.since', { time: clock(lastMessage) }) : t('stale.never');
    setText(banner, `${what} — ${t('stale.retrying')}`);
  }

  return {
    /** Bytes arrived (an event or a keep-alive). */
    activity() {
      lastMessage = new Date();
    },
    lost() {
      stale = true;
      draw();
    },
    fresh() {
      stale = false;
      draw();
    },
    relabel: draw,
  };
}
