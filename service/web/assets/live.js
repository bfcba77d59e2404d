// Live updates over graphql-transport-ws on /graphql: one socket per page, shared by its
// subscriptions, reconnected with backoff. The browser sends the session cookie with the
// handshake. After a reconnect each subscriber's `resync` runs, since messages sent while the
// socket was down are gone.
import { documentText } from "./api.js";

const PROTOCOL = "graphql-transport-ws";
const MAX_BACKOFF_MS = 15_000;
// Closed by the service for good: bad message, sign-out (4403), too many connections.
const FINAL_CODES = new Set([4400, 4401, 4403, 4409, 4429]);

export class LiveConnection {
  constructor() {
    this.subscriptions = new Map();
    this.nextId = 1;
    this.socket = null;
    this.acknowledged = false;
    this.backoff = 500;
    this.closed = false;
    this.connectedOnce = false;
  }

  /** Subscribes `operationName` of a document; `onData(data)` gets each message's data.
   * Returns a function that ends the subscription. */
  subscribe(documentName, operationName, variables, onData, resync = () => {}) {
    const id = String(this.nextId++);
    const payload = { query: documentText(documentName), operationName, variables };
    this.subscriptions.set(id, { payload, onData, resync });
    if (this.acknowledged) this.send({ id, type: "subscribe", payload });
    else this.open();
    return () => {
      if (this.subscriptions.delete(id) && this.acknowledged) this.send({ id, type: "complete" });
    };
  }

  get ready() {
    return this.acknowledged;
  }

  close() {
    this.closed = true;
    this.subscriptions.clear();
    if (this.socket) this.socket.close(1000);
  }

  open() {
    if (this.socket || this.closed) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/graphql`, PROTOCOL);
    this.socket = socket;
    socket.addEventListener("open", () => this.send({ type: "connection_init", payload: {} }));
    socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => this.lost(event.code));
  }

  receive(message) {
    if (message.type === "connection_ack") {
      this.acknowledged = true;
      this.backoff = 500;
      const again = this.connectedOnce;
      this.connectedOnce = true;
      for (const [id, entry] of this.subscriptions) {
        this.send({ id, type: "subscribe", payload: entry.payload });
        if (again) entry.resync();
      }
    } else if (message.type === "ping") {
      this.send({ type: "pong" });
    } else if (message.type === "next") {
      const entry = this.subscriptions.get(message.id);
      if (entry && message.payload && message.payload.data) entry.onData(message.payload.data);
    } else if (message.type === "error" || message.type === "complete") {
      this.subscriptions.delete(message.id);
    }
  }

  lost(code) {
    this.socket = null;
    this.acknowledged = false;
    if (this.closed || FINAL_CODES.has(code) || this.subscriptions.size === 0) return;
    setTimeout(() => this.open(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }
}
