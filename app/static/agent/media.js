// The room's own camera and microphone, watched in this browser with the site's permission:
// no camera or microphone, a black picture, a frozen picture, silence. Pictures and sound never
// leave the page: a tiny grey copy of one picture a second (32×24) and the sound's level are
// all that is measured, and only the verdicts and two numbers go into the reports
// (docs/PROTOCOL.md §4: camera, microphone, camera_luma, microphone_dbfs).

const SAMPLE_MS = 1_000; // one picture a second: a freeze of seconds is what matters
const LEVEL_MS = 250;
const WIDTH = 32;
const HEIGHT = 24;
export const BLACK_LUMA = 16; // mean luma (0–255) below this: a covered lens, a dead camera
const BLACK_MS = 3_000; // a camera's first frames are often dark: not a fault yet
// A live sensor is never still, even on an empty hall: its noise changes some samples every
// time. Only a picture that repeats itself almost exactly is frozen.
export const STILL_CHANGE = 0.1; // mean absolute change of the samples (0–255)
export const FROZEN_MS = 10_000;
export const SILENT_DBFS = -70; // a quiet hall's own noise is above this on a live microphone
export const SILENT_MS = 10_000;
const FLOOR_DBFS = -100; // what digital silence (−∞) is reported as
const GRAB_MS = 2_000; // no new picture within this: the camera sends none

/** Mean luma (BT.601) of RGBA pixels, and the luma of each. */
export function lumas(rgba) {
  const each = new Float32Array(rgba.length / 4);
  let sum = 0;
  for (let i = 0; i < each.length; i += 1) {
    const value = 0.299 * rgba[i * 4] + 0.587 * rgba[i * 4 + 1] + 0.114 * rgba[i * 4 + 2];
    each[i] = value;
    sum += value;
  }
  return { mean: sum / each.length, each };
}

/** Mean absolute difference of two pictures' lumas. */
export function change(before, after) {
  let sum = 0;
  for (let i = 0; i < after.length; i += 1) sum += Math.abs(after[i] - before[i]);
  return sum / after.length;
}

/** Level of audio samples (−1…1) in dBFS, at least FLOOR_DBFS. */
export function levelDbfs(samples) {
  let sum = 0;
  for (const sample of samples) sum += sample * sample;
  const rms = Math.sqrt(sum / samples.length);
  return rms > 0 ? Math.max(FLOOR_DBFS, 20 * Math.log10(rms)) : FLOOR_DBFS;
}

/** Why a device could not be opened: missing, denied or busy (another program holds it). */
export function failure(error) {
  const name = error?.name ?? '';
  if (['NotFoundError', 'OverconstrainedError', 'DevicesNotFoundError'].includes(name)) {
    return 'missing';
  }
  if (['NotAllowedError', 'SecurityError', 'PermissionDeniedError'].includes(name)) {
    return 'denied';
  }
  return 'busy';
}

/** Both devices granted before (a reload, a bookmark): the check starts with no click. */
export async function alreadyAllowed() {
  if (!navigator.permissions?.query) return false;
  try {
    const asked = ['camera', 'microphone'].map((name) => navigator.permissions.query({ name }));
    return (await Promise.all(asked)).every((answer) => answer.state === 'granted');
  } catch {
    return false; // a browser that cannot be asked about these
  }
}

/**
 * The watch. `preview` is a <video> that shows the camera here; `onChange(state)` hears every
 * change of { phase: off | asking | on | unsupported, camera, microphone, luma, dbfs } where
 * camera is null (not known yet) | ok | missing | denied | busy | black | frozen, and
 * microphone null | ok | missing | denied | busy | silent | suspended (the browser waits for a
 * touch on the page before it lets sound be measured).
 */
export function createMediaWatch({ preview, onChange }) {
  const state = { phase: 'off', camera: null, microphone: null, luma: null, dbfs: null };
  let stream = null;
  let timers = [];
  let audio = null;

  function set(patch) {
    const before = JSON.stringify(state);
    Object.assign(state, patch);
    if (JSON.stringify(state) !== before) onChange({ ...state });
  }

  async function start() {
    if (!navigator.mediaDevices?.getUserMedia) return set({ phase: 'unsupported' });
    stop();
    set({ phase: 'asking', camera: null, microphone: null, luma: null, dbfs: null });
    const [video, sound] = await open();
    const why = (got) => (got instanceof MediaStreamTrack ? null : got);
    stream = new MediaStream([video, sound].filter((got) => why(got) === null));
    set({ phase: 'on', camera: why(video), microphone: why(sound) }); // one report for both
    if (why(video) === null) watchPicture(video);
    if (why(sound) === null) watchSound(sound);
  }

  /** The camera's and the microphone's tracks, or why each could not be had. */
  async function open() {
    const audioWanted = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };
    try {
      const both = await navigator.mediaDevices.getUserMedia({ video: true, audio: audioWanted });
      return [both.getVideoTracks()[0] ?? 'missing', both.getAudioTracks()[0] ?? 'missing'];
    } catch (error) {
      if (failure(error) === 'denied') return ['denied', 'denied'];
    }
    // One of them is missing or busy: which one? Each alone tells.
    const one = (constraints, kind) =>
      navigator.mediaDevices.getUserMedia(constraints).then(
        (alone) => alone.getTracks().find((track) => track.kind === kind),
        failure,
      );
    return [await one({ video: true }, 'video'), await one({ audio: audioWanted }, 'audio')];
  }

  function watchPicture(track) {
    preview.srcObject = new MediaStream([track]);
    preview.play().catch(() => {}); // muted: allowed; the preview is only a courtesy
    const canvas = document.createElement('canvas');
    canvas.width = WIDTH;
    canvas.height = HEIGHT;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    const grabber = 'ImageCapture' in window ? new ImageCapture(track) : null;
    const started = performance.now();
    let previous = null;
    let changedAt = started;
    let darkSince = null;
    let grabbing = false; // a camera slow to give its picture must not pile up grabs
    track.addEventListener('ended', () => set({ camera: 'missing', luma: null })); // unplugged

    timers.push(
      setInterval(async () => {
        if (track.readyState !== 'live' || grabbing) return;
        grabbing = true;
        const drawn = await draw(context, grabber, track).finally(() => {
          grabbing = false;
        });
        const now = performance.now();
        if (drawn) {
          const picture = lumas(context.getImageData(0, 0, WIDTH, HEIGHT).data);
          if (previous === null || change(previous, picture.each) > STILL_CHANGE) changedAt = now;
          previous = picture.each;
          darkSince = picture.mean < BLACK_LUMA ? (darkSince ?? now) : null;
          set({ luma: Math.round(picture.mean * 10) / 10 });
        }
        if (track.readyState !== 'live') return;
        let camera = state.camera;
        if (darkSince !== null && now - darkSince >= BLACK_MS) camera = 'black';
        else if (now - changedAt >= FROZEN_MS) camera = 'frozen';
        else if (darkSince === null && drawn) camera = 'ok';
        set({ camera });
      }, SAMPLE_MS),
    );
  }

  /** One picture on the canvas: from the track itself where the browser can (a minimised
   * page still gets its pictures), else from the preview. False: no new picture came. */
  async function draw(context, grabber, track) {
    if (grabber) {
      try {
        const bitmap = await within(grabber.grabFrame(), GRAB_MS);
        context.drawImage(bitmap, 0, 0, WIDTH, HEIGHT);
        bitmap.close();
        return true;
      } catch (error) {
        if (error === NO_PICTURE) return false;
        // The browser could not grab one: the preview still shows the camera.
      }
    }
    if (preview.readyState < 2 || track.muted) return false;
    context.drawImage(preview, 0, 0, WIDTH, HEIGHT);
    return true;
  }

  function watchSound(track) {
    audio = new AudioContext();
    const analyser = audio.createAnalyser();
    analyser.fftSize = 16_384; // a third of a second at 48 kHz: a word between pauses counts
    audio.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    let heardAt = null;
    let runningSince = null;
    const recent = []; // [time, dBFS]: the loudest of the last SILENT_MS is reported
    track.addEventListener('ended', () => set({ microphone: 'missing', dbfs: null }));
    const context = audio;
    const resume = () => context.resume().catch(() => {});
    document.addEventListener('pointerdown', resume);
    document.addEventListener('keydown', resume);

    timers.push(
      setInterval(() => {
        if (track.readyState !== 'live') return;
        const now = performance.now();
        if (context.state !== 'running') {
          runningSince = null;
          return set({ microphone: 'suspended' });
        }
        runningSince ??= now;
        analyser.getFloatTimeDomainData(samples);
        const level = levelDbfs(samples);
        if (level >= SILENT_DBFS) heardAt = now;
        recent.push([now, level]);
        while (recent[0][0] < now - SILENT_MS) recent.shift();
        const loudest = Math.max(...recent.map(([, dbfs]) => dbfs));
        let microphone = null;
        if (heardAt !== null && now - heardAt < SILENT_MS) microphone = 'ok';
        else if (now - runningSince >= SILENT_MS) microphone = 'silent';
        set({ microphone, dbfs: Math.round(loudest * 10) / 10 });
      }, LEVEL_MS),
    );
  }

  function stop() {
    timers.forEach(clearInterval);
    timers = [];
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    audio?.close().catch(() => {});
    audio = null;
    preview.srcObject = null;
  }

  return {
    start,
    /** Lets the devices go (the site was withdrawn from this PC). */
    stop() {
      stop();
      set({ phase: 'off', camera: null, microphone: null, luma: null, dbfs: null });
    },
    /** What the reports say of the devices: only verdicts the monitor knows, and only once
     * known (busy, suspended or not checked yet: nothing, which blames nobody). */
    fields() {
      const fields = {};
      if (['ok', 'missing', 'denied', 'black', 'frozen'].includes(state.camera)) {
        fields.camera = state.camera;
      }
      if (['ok', 'missing', 'denied', 'silent'].includes(state.microphone)) {
        fields.microphone = state.microphone;
      }
      if (state.luma !== null && fields.camera) fields.camera_luma = state.luma;
      if (state.dbfs !== null && fields.microphone) fields.microphone_dbfs = state.dbfs;
      return fields;
    },
    get state() {
      return { ...state };
    },
  };
}

const NO_PICTURE = new Error('no picture within the time');

function within(promise, ms) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(NO_PICTURE), ms)),
  ]);
}
