// A Server-Sent Events parser for text arriving in arbitrary chunks (fetch + ReadableStream
// instead of EventSource, because EventSource cannot send an Authorization header).

export class SseParser {
  /** `onEvent(type, data)` runs once per complete event; comments and retry: are skipped. */
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = '';
    this.type = '';
    this.data = [];
  }

  push(chunk) {
    this.buffer += chunk;
    // A "\r" at the very end may be the first half of "\r\n": it waits for the next chunk.
    const held = this.buffer.endsWith('\r') ? '\r' : '';
    const lines = this.buffer.slice(0, this.buffer.length - held.length).split(/\r\n|\r|\n/);
    this.buffer = lines.pop() + held; // an unfinished line waits for the next chunk
    for (const line of lines) this.line(line);
  }

  line(line) {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return; // a comment, e.g. ": keep-alive"
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
  }

  dispatch() {
    if (this.data.length) this.onEvent(this.type || 'message', this.data.join('\n'));
    this.type = '';
    this.data = [];
  }
}
