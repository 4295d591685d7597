// The card of the room's camera and microphone: the button that asks for them, a small preview
// seen only here, and the verdicts in the technician's words (Không có hình, Không có tiếng),
// each with its cause and what to do.
import { t } from './i18n.js';

const byId = (id) => document.getElementById(id);

// A verdict -> [the line's key, its cause's key, the advice's key]; no cause: a plain line.
const PICTURE = {
  ok: ['media.picture.ok'],
  missing: ['media.picture.none', 'media.cause.noCamera', 'media.do.noCamera'],
  black: ['media.picture.none', 'media.cause.black', 'media.do.black'],
  frozen: ['media.picture.none', 'media.cause.frozen', 'media.do.frozen'],
  denied: ['media.unchecked', 'media.cause.deniedCamera', 'media.do.denied'],
  busy: ['media.unchecked', 'media.cause.busyCamera', 'media.do.busy'],
};
const SOUND = {
  ok: ['media.sound.ok'],
  missing: ['media.sound.none', 'media.cause.noMicrophone', 'media.do.noMicrophone'],
  silent: ['media.sound.none', 'media.cause.silent', 'media.do.silent'],
  denied: ['media.unchecked', 'media.cause.deniedMicrophone', 'media.do.denied'],
  busy: ['media.unchecked', 'media.cause.busyMicrophone', 'media.do.busy'],
  suspended: ['media.sound.touch'],
};
const RETRY = new Set(['missing', 'denied', 'busy']); // a try again may help these
const SHOWN = new Set(['ok', 'black', 'frozen']); // a camera whose picture there is to show

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function line(verdicts, verdict, phase) {
  if (phase !== 'on') return '';
  const [key, cause] = verdicts[verdict] ?? ['media.checking'];
  return t(key, { cause: cause ? t(cause) : '' });
}

/** The card; `onStart()` runs when the technician asks for the check (or asks again). */
export function createMediaCard({ onStart }) {
  const button = byId('media-start');
  button.addEventListener('click', onStart);
  let shown = { phase: 'off', camera: null, microphone: null };

  function render(state = shown) {
    shown = state;
    const { phase, camera, microphone } = state;
    const card = byId('media');
    card.dataset.phase = phase;
    card.dataset.camera = camera ?? 'none';
    card.dataset.microphone = microphone ?? 'none';
    setText(byId('media-camera'), line(PICTURE, camera, phase));
    setText(byId('media-microphone'), line(SOUND, microphone, phase));
    byId('media-verdicts').hidden = phase !== 'on';
    byId('media-preview').hidden = phase !== 'on' || !SHOWN.has(camera);
    const advice = [PICTURE[camera]?.[2], SOUND[microphone]?.[2]].filter(Boolean);
    let help = [...new Set(advice)].map((key) => t(key)).join(' ');
    if (phase === 'off') help = t('media.intro');
    if (phase === 'asking') help = t('media.asking');
    if (phase === 'unsupported') help = t('media.unsupported');
    setText(byId('media-advice'), help);
    const again = phase === 'on' && (RETRY.has(camera) || RETRY.has(microphone));
    button.hidden = !(phase === 'off' || again);
    setText(button, t(phase === 'off' ? 'media.start' : 'media.retry'));
  }

  render();
  return { render, relabel: () => render() };
}
