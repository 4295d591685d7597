// The stale-data banner: shown as soon as the stream is lost (or silent past its limit), with
// the time of the last message received, so nobody trusts a frozen screen. The next snapshot
// (after an automatic reconnect) removes it. It also shows while the service says it cannot
// reach its database: the stream is alive, but what it shows may no longer be current (in
// scale-out the workers' observations reach the service through that database).
import { setText } from './dom.js';
import { t } from './i18n.js';
import { clock } from './text.js';

export function createStaleBanner(banner) {
  let lastMessage = null;
  let stale = false;
  let databaseOutSince = null;

  function draw() {
    const shown = stale || databaseOutSince !== null;
    banner.hidden = !shown;
    document.body.classList.toggle('is-stale', shown);
    if (!shown) return;
    if (stale) {
      const what = lastMessage ? t('stale.since', { time: clock(lastMessage) }) : t('stale.never');
      setText(banner, `${what} — ${t('stale.retrying')}`);
    } else {
      setText(banner, t('stale.database', { time: clock(databaseOutSince) }));
    }
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
    /** A snapshot arrived (while the database is out, the service says so again after it). */
    fresh() {
      stale = false;
      databaseOutSince = null;
      draw();
    },
    /** The service's `health` event: { database: 'ok' | 'unreachable', since }. */
    health(health) {
      databaseOutSince = health.database === 'ok' ? null : new Date(health.since);
      draw();
    },
    relabel: draw,
  };
}
