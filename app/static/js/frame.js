// Batches DOM writes into one animation frame: a burst of 100 updates a second costs at most
// one repaint per frame, and a job queued twice before the frame runs once.
const jobs = new Map();
let requested = false;

/** Runs `job` in the next animation frame; a later call with the same key replaces it. */
export function onNextFrame(key, job) {
  jobs.set(key, job);
  if (!requested) {
    requested = true;
    requestAnimationFrame(flush);
  }
}

function flush() {
  requested = false;
  const batch = [...jobs.values()];
  jobs.clear();
  for (const job of batch) {
    try {
      job();
    } catch (error) {
      console.error(error); // one broken view must not stop the others from updating
    }
  }
}
