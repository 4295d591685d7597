// The live connection to /api/v1/stream: reads events, reconnects with backoff (1, 2, 4, 8,
// 10 s …) without reloading the page, and notices a connection that went silent: the server
// sends a comment every 15 s, so 35 s of nothing means the data on screen may be old.
import { problemDetail } from './api.js';
import { SseParser } from './sse.js';

const SILENCE_SECONDS = 35;
const MAX_BACKOFF_SECONDS = 10;

export class LiveStream {
  /**
   * handlers: event(type, data), unauthorized(detail), activity(), lost().
   * `token()` returns the bearer token to send, or null.
   */
  constructor(url, token, handlers) {
    this.url = url;
    this.token = token;
    this.handlers = handlers;
    this.controller = null;
    this.wake = null;
    this.lastActivity = 0;
    this.receivedSnapshot = false;
    this.running = false;
    this.restarting = false;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.watchdog = setInterval(() => this.checkSilence(), 1000);
    this.loop();
  }

  /** Reconnects now (e.g. with a new token), without waiting for the backoff. */
  restart() {
    if (!this.running) return this.start();
    this.restarting = true;
    this.controller?.abort();
    this.wake?.();
  }

  async loop() {
    let failures = 0;
    while (this.running) {
      this.receivedSnapshot = false;
      this.restarting = false;
      const outcome = await this.session().catch(() => 'lost');
      if (outcome === 'unauthorized') {
        this.running = false; // resumes through restart() once there is a token
        clearInterval(this.watchdog);
        return;
      }
      if (this.restarting) {
        this.restarting = false; // asked for: not a loss, no waiting
        failures = 0;
        continue;
      }
      if (this.receivedSnapshot) failures = 0;
      this.handlers.lost();
      await this.sleep(Math.min(MAX_BACKOFF_SECONDS, 2 ** failures));
      failures += 1;
    }
  }

  async session() {
    this.controller = new AbortController();
    const headers = { Accept: 'text/event-stream' };
    const token = this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(this.url, {
      headers,
      cache: 'no-store',
      signal: this.controller.signal,
    });
    if (response.status === 401) {
      this.handlers.unauthorized(await problemDetail(response));
      return 'unauthorized';
    }
    if (!response.ok || !response.body) return 'lost';
    await this.read(response.body);
    return 'lost';
  }

  async read(body) {
    const parser = new SseParser((type, data) => this.dispatch(type, data));
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    this.touch();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      this.touch(); // any bytes, keep-alive comments included, prove the server is alive
      parser.push(value);
    }
  }

  dispatch(type, data) {
    if (type === 'snapshot') this.receivedSnapshot = true;
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch (error) {
      console.error('unreadable event', type, error);
      return;
    }
    this.handlers.event(type, parsed);
  }

  touch() {
    this.lastActivity = Date.now();
    this.handlers.activity();
  }

  checkSilence() {
    const silent = Date.now() - this.lastActivity > SILENCE_SECONDS * 1000;
    if (this.controller && this.lastActivity && silent) {
      this.controller.abort(); // the loop reports the loss and reconnects
      this.lastActivity = 0;
    }
  }

  sleep(seconds) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, seconds * 1000);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
