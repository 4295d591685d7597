// A safety net for a gap in the stream. The snapshot is read from the database, which the
// recorder writes a second or more after the probe engine announces a status change; a change
// announced in that gap is in neither the snapshot nor the updates that follow, and the tile
// would show the old status until the site changes again. So a few seconds after every
// snapshot the statuses are read once more and the missed ones corrected.
import { allSites } from './api.js';
import { applyStatuses } from './state.js';

const DELAY_MS = 4000; // comfortably after the recorder's flush (1 s by default)

let timer = null;

export function reconcileSoon() {
  clearTimeout(timer); // a newer snapshot replaces the pending check
  timer = setTimeout(reconcile, DELAY_MS);
}

async function reconcile() {
  try {
    const page = await allSites();
    applyStatuses(page.items);
  } catch (error) {
    console.warn('could not re-read the statuses', error.message); // the stream goes on
  }
}
