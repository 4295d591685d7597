// One agent per browser. Two tabs of this page would each dial in as the site and displace each
// other's session for ever (one push session per site): with the Web Locks API one tab runs,
// another waits and takes over when the first one closes.
const LOCK = 'bw.agent.session';

/** Runs `run()` once this tab is the only one running; calls `waiting()` while it is not. */
export function asTheOnlyTab(run, waiting) {
  if (!navigator.locks) {
    run();
    return;
  }
  const hold = () => {
    run();
    return new Promise(() => {}); // held until the page goes away
  };
  navigator.locks.request(LOCK, { ifAvailable: true }, (lock) => {
    if (lock) return hold();
    waiting();
    return navigator.locks.request(LOCK, hold);
  });
}
