// Getting attention when a site goes down: a short two-tone beep made with the Web Audio API
// (no audio file) and a flashing document title ("✖ 2 — BridgeWatch") until someone focuses or
// touches the page. Mute is remembered. With prefers-reduced-motion the title does not flash.
import { t } from './i18n.js';

const MUTE_KEY = 'bw.muted';
const BASE_TITLE = 'BridgeWatch';
const FLASH_MS = 1000;

export function createAlerting(button, downCount) {
  let muted = localStorage.getItem(MUTE_KEY) === 'true';
  let audio = null;
  let flashing = null;
  let bright = false;
  const calm = window.matchMedia('(prefers-reduced-motion: reduce)');

  button.addEventListener('click', () => {
    muted = !muted;
    localStorage.setItem(MUTE_KEY, String(muted));
    label();
  });

  // Browsers only let a page make sound after a user gesture: create the audio context on the
  // first one. A kiosk wall screen can start Chromium with
  // --autoplay-policy=no-user-gesture-required to beep before anyone has touched it.
  const unlock = () => {
    audio ??= new AudioContext();
    if (audio.state === 'suspended') audio.resume();
  };
  for (const type of ['pointerdown', 'keydown']) {
    window.addEventListener(type, () => {
      unlock();
      stopFlashing();
    });
  }
  window.addEventListener('focus', stopFlashing);

  function label() {
    button.textContent = t(muted ? 'mute.on' : 'mute.off');
    button.dataset.muted = String(muted);
  }

  /** Sites just went down: beep once and flash the title. */
  function sitesWentDown() {
    if (!muted) beep();
    if (!flashing && !calm.matches) {
      flashing = setInterval(() => {
        bright = !bright;
        showTitle();
      }, FLASH_MS);
    }
    bright = true;
    showTitle();
  }

  function beep() {
    try {
      audio ??= new AudioContext();
      const start = audio.currentTime;
      [880, 660].forEach((frequency, i) => tone(audio, frequency, start + i * 0.18));
    } catch (error) {
      console.warn('no sound', error); // the flashing title still tells
    }
  }

  function stopFlashing() {
    clearInterval(flashing);
    flashing = null;
    bright = true;
    showTitle();
  }

  /** The title always carries the number of sites down; while flashing it blinks. */
  function showTitle() {
    const count = downCount();
    const alert = count > 0 ? t('title.alert', { count }) : BASE_TITLE;
    const title = flashing && !bright ? BASE_TITLE : alert;
    if (document.title !== title) document.title = title;
  }

  label();
  return { sitesWentDown, showTitle, relabel: () => (label(), showTitle()) };
}

function tone(audio, frequency, at) {
  const oscillator = audio.createOscillator();
  const gain = audio.createGain();
  oscillator.type = 'sine';
  oscillator.frequency.value = frequency;
  // A quick fade in and out: no click at the start or the end of the tone.
  gain.gain.setValueAtTime(0.0001, at);
  gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.16);
  oscillator.connect(gain).connect(audio.destination);
  oscillator.start(at);
  oscillator.stop(at + 0.17);
}
