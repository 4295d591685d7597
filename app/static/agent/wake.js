// Keeps the screen on with the Screen Wake Lock API where the browser allows it: a sleeping
// conference PC drops its link. The lock goes when the page is hidden; it is asked again when
// the page is shown, and on the technician's first touch if the browser wanted one.
export function keepScreenAwake(onState) {
  let lock = null;
  let asking = false;

  async function acquire() {
    if (!('wakeLock' in navigator)) return onState('off');
    if (lock !== null || asking || document.visibilityState !== 'visible') return;
    asking = true;
    try {
      lock = await navigator.wakeLock.request('screen');
      lock.addEventListener('release', () => {
        lock = null;
        onState('off');
      });
      onState('on');
    } catch {
      onState('off'); // not allowed here (policy, battery saver, no activation yet)
    } finally {
      asking = false;
    }
  }

  document.addEventListener('visibilitychange', acquire);
  document.addEventListener('pointerdown', acquire);
  document.addEventListener('keydown', acquire);
  acquire();
}
