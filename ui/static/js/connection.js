// One WebSocket per page, kept alive: it reconnects with backoff after any drop (server
// restart, Wi-Fi hiccup, laptop sleep) and tells the app, which then asks the server to
// `resume` from the newest message it has seen. Close codes come from docs/protocol.md.

export const CLOSE_TOO_MANY_CONNECTIONS = 4008;
export const CLOSE_SLOW_READER = 4009;
export const CLOSE_UNAUTHENTICATED = 4401;
// A database fault (disk full, database damaged) refused the connection; the server said
// which in a `server_error` just before. It lasts until someone acts: try every few seconds.
export const CLOSE_DATABASE_FAULT = 4503;
export const FAULT_RETRY_MS = 5000;

const PING_EVERY_MS = 25000;
const PONG_WITHIN_MS = 10000;
// Short on purpose: a restarted office server is back in about a second, and people should
// be too. A refused attempt costs the server one failed TCP connect, so even a hundred pages
// retrying every second are nothing to it; the jitter keeps them from arriving together.
export const FIRST_DELAY_MS = 250;
export const MAX_DELAY_MS = 1000;

/** How long to wait before attempt ``attempt`` (0, 1, 2 …): 250 ms, 500 ms, then 1 s at most,
 * each ±25 % (``random`` in [0, 1)). */
export function retryDelay(attempt, random = Math.random()) {
  const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt);
  return base * (0.75 + random * 0.5);
}

export class Connection {
  /**
   * @param {string} url  ws:// or wss:// address of /ws/
   * @param {{onFrame: Function, onState: Function}} handlers
   *   onState receives "connecting", "connected", "reconnecting", "signed-out", "refused" or
   *   "fault".
   */
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.socket = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.stopped = false;
    this.everOpened = false;
    // Retry at once when the network or the tab comes back, instead of waiting out the delay.
    window.addEventListener("online", () => this.retryNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.retryNow();
    });
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  start() {
    this.handlers.onState(this.everOpened ? "reconnecting" : "connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (socket !== this.socket) return;
      this.attempt = 0;
      this.everOpened = true;
      this.handlers.onState("connected");
      this.schedulePing();
    });
    socket.addEventListener("message", (event) => {
      if (socket !== this.socket) return;
      this.schedulePing();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.handlers.onFrame(frame);
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.clearPing();
      if (this.stopped) return;
      if (event.code === CLOSE_UNAUTHENTICATED) {
        this.handlers.onState("signed-out");
        return;
      }
      if (event.code === CLOSE_DATABASE_FAULT) {
        this.handlers.onState("fault");
        this.scheduleRetry(FAULT_RETRY_MS);
        return;
      }
      if (event.code === CLOSE_TOO_MANY_CONNECTIONS) this.handlers.onState("refused");
      else this.handlers.onState("reconnecting");
      this.scheduleRetry(event.code === CLOSE_TOO_MANY_CONNECTIONS ? 30000 : null);
    });
  }

  /** Send one frame; false when the socket is not open (the caller keeps it for later). */
  send(frame) {
    if (!this.isOpen) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  scheduleRetry(fixedDelay) {
    clearTimeout(this.retryTimer);
    const delay = fixedDelay ?? retryDelay(this.attempt);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.start();
    }, delay);
  }

  /** Try now instead of waiting out the delay ("Retry now", the browser back online). */
  retryNow() {
    if (this.stopped || this.socket !== null || this.retryTimer === null) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.start();
  }

  schedulePing() {
    // Any frame proves the link is alive; after a quiet spell, a ping must get a pong, or
    // the socket is treated as dead (a sleeping laptop never sees a close frame).
    this.clearPing();
    this.pingTimer = setTimeout(() => {
      if (!this.send({ type: "ping" })) return;
      this.pongTimer = setTimeout(() => this.drop(), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  /** Give up on a silent socket without waiting for a close handshake that may never come. */
  drop() {
    const socket = this.socket;
    if (socket === null) return;
    this.socket = null;
    this.clearPing();
    socket.close();
    this.handlers.onState("reconnecting");
    this.scheduleRetry(null);
  }

  clearPing() {
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
  }
}
