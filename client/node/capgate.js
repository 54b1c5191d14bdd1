'use strict';
/*
 * capgate client library for Node.js (standard library only).
 *
 * The wire format is docs/PROTOCOL.md. Node's crypto has neither keyed
 * BLAKE2b (for the per-direction MAC keys) nor SipHash (the frame MAC), so
 * BLAKE2b (RFC 7693) is implemented below on 32-bit halves and
 * SipHash-2-4-128 on BigInt. Node's net
 * module cannot adopt a SOCK_SEQPACKET fd, so the connection is read with
 * fs.read on fd 3 (one read is one datagram; the read runs in libuv's
 * thread pool, so the event loop stays free) and written with fs.writeSync
 * (one write is one datagram). A read is outstanding only while an invoke
 * waits or a listener is registered, so a program with neither can exit;
 * a read already started when the last listener goes (off()) cannot be
 * cancelled and keeps the process until the next frame arrives, so a
 * program that only listened ends with process.exit().
 *
 * Node cannot receive file descriptors through fs.read: a reply that
 * carries them (fs.open, fs.read with "fd": true) is reported as an error
 * instead of being returned without them.
 *
 * The session key is read from CAPGATE_KEY_FD when this module is first
 * required, and the pipe closed and the variable removed.
 *
 *   const capgate = require('./capgate');
 *   const gw = await capgate.connect();
 *   console.log(await gw.invoke('notes:list', {}));
 *   const off = gw.on('notes:changed', (channel, payload) => ...);
 *   off();
 */
const fs = require('fs');
const crypto = require('crypto');

const MAGIC = Buffer.from('CGW1');
const VERSION = 3;
const HEADER_LEN = 64;
const MAC_LEN = 32; // the header's MAC field: 16-byte tag, 16 zeros
const TAG_LEN = 16;
const MAC_LABEL = Buffer.from('capgate frame mac');
const FRAME_MAX = 64 * 1024;
const CHANNEL_MAX = 128;
const MAX_FDS = 4;
const KEY_LEN = 32;
const FLAG_FDS = 1;
const T = { HELLO: 1, WELCOME: 2, INVOKE: 3, SEND: 4, REPLY: 5, ERROR: 6,
  EVENT: 7, SUBSCRIBE: 8, UNSUBSCRIBE: 9 };
const TO_GATEWAY = 1;
const TO_CLIENT = 2;
const STATUS_NAMES = { 1: 'denied', 2: 'invalid', 3: 'limited', 4: 'timeout',
  5: 'unavailable', 6: 'failed', 7: 'protocol' };
const WITH_CHANNEL = new Set([T.INVOKE, T.SEND, T.EVENT, T.SUBSCRIBE,
  T.UNSUBSCRIBE]);

/* ---- BLAKE2b (RFC 7693), 64-bit words as [low, high] uint32 pairs ---- */

const IV = new Uint32Array([
  0xf3bcc908, 0x6a09e667, 0x84caa73b, 0xbb67ae85, 0xfe94f82b, 0x3c6ef372,
  0x5f1d36f1, 0xa54ff53a, 0xade682d1, 0x510e527f, 0x2b3e6c1f, 0x9b05688c,
  0xfb41bd6b, 0x1f83d9ab, 0x137e2179, 0x5be0cd19]);
const SIGMA = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
  11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4,
  7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8,
  9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13,
  2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9,
  12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11,
  13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10,
  6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5,
  10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3].map((x) => x * 2);

/* v[a] += v[b], as 64-bit words */
function add64(v, a, b) {
  const lo = v[a] + v[b];
  v[a + 1] = v[a + 1] + v[b + 1] + (lo >= 0x100000000 ? 1 : 0);
  v[a] = lo;
}

/* v[a] += (hi:lo) */
function add64c(v, a, lo, hi) {
  const l = v[a] + lo;
  v[a + 1] = v[a + 1] + hi + (l >= 0x100000000 ? 1 : 0);
  v[a] = l;
}

function mix(v, m, a, b, c, d, ix, iy) {
  let x0, x1;
  add64(v, a, b); add64c(v, a, m[ix], m[ix + 1]);
  x0 = v[d] ^ v[a]; x1 = v[d + 1] ^ v[a + 1];
  v[d] = x1; v[d + 1] = x0;                                   /* >>> 32 */
  add64(v, c, d);
  x0 = v[b] ^ v[c]; x1 = v[b + 1] ^ v[c + 1];
  v[b] = (x0 >>> 24) ^ (x1 << 8); v[b + 1] = (x1 >>> 24) ^ (x0 << 8);
  add64(v, a, b); add64c(v, a, m[iy], m[iy + 1]);
  x0 = v[d] ^ v[a]; x1 = v[d + 1] ^ v[a + 1];
  v[d] = (x0 >>> 16) ^ (x1 << 16); v[d + 1] = (x1 >>> 16) ^ (x0 << 16);
  add64(v, c, d);
  x0 = v[b] ^ v[c]; x1 = v[b + 1] ^ v[c + 1];
  v[b] = (x1 >>> 31) ^ (x0 << 1); v[b + 1] = (x0 >>> 31) ^ (x1 << 1);
}

class Blake2b {
  constructor(outlen, key) {
    if (outlen < 1 || outlen > 64 || (key && key.length > 64)) {
      throw new RangeError('BLAKE2b: bad output or key length');
    }
    this.h = new Uint32Array(IV);
    this.v = new Uint32Array(32);
    this.m = new Uint32Array(32);
    this.b = Buffer.alloc(128);
    this.c = 0;
    this.t = 0;
    this.outlen = outlen;
    this.h[0] ^= 0x01010000 ^ ((key ? key.length : 0) << 8) ^ outlen;
    if (key && key.length > 0) {
      this.update(key);
      this.c = 128;
    }
  }

  compress(last) {
    const { v, m, h, b } = this;
    for (let i = 0; i < 16; i++) { v[i] = h[i]; v[i + 16] = IV[i]; }
    v[24] ^= this.t >>> 0;
    v[25] ^= Math.floor(this.t / 0x100000000);
    if (last) { v[28] = ~v[28]; v[29] = ~v[29]; }
    for (let i = 0; i < 32; i++) m[i] = b.readUInt32LE(i * 4);
    for (let r = 0; r < 12; r++) {
      const s = r * 16;
      mix(v, m, 0, 8, 16, 24, SIGMA[s], SIGMA[s + 1]);
      mix(v, m, 2, 10, 18, 26, SIGMA[s + 2], SIGMA[s + 3]);
      mix(v, m, 4, 12, 20, 28, SIGMA[s + 4], SIGMA[s + 5]);
      mix(v, m, 6, 14, 22, 30, SIGMA[s + 6], SIGMA[s + 7]);
      mix(v, m, 0, 10, 20, 30, SIGMA[s + 8], SIGMA[s + 9]);
      mix(v, m, 2, 12, 22, 24, SIGMA[s + 10], SIGMA[s + 11]);
      mix(v, m, 4, 14, 16, 26, SIGMA[s + 12], SIGMA[s + 13]);
      mix(v, m, 6, 8, 18, 28, SIGMA[s + 14], SIGMA[s + 15]);
    }
    for (let i = 0; i < 16; i++) h[i] ^= v[i] ^ v[i + 16];
  }

  update(data) {
    for (let i = 0; i < data.length; i++) {
      if (this.c === 128) {
        this.t += this.c;
        this.compress(false);
        this.c = 0;
      }
      this.b[this.c++] = data[i];
    }
    return this;
  }

  digest() {
    this.t += this.c;
    this.b.fill(0, this.c);
    this.compress(true);
    const out = Buffer.alloc(this.outlen);
    for (let i = 0; i < this.outlen; i++) {
      out[i] = this.h[i >> 2] >>> (8 * (i & 3));
    }
    return out;
  }
}

function blake2b(data, key, outlen = 32) {
  return new Blake2b(outlen, key).update(data).digest();
}

/* ---- frames ---- */

class CapgateError extends Error {
  /* An error answer: .code is "denied", "invalid", ... (reasons are in the
   * audit log, not here). */
  constructor(code, status) {
    super(code);
    this.code = code;
    this.status = status;
  }
}

class TransportError extends Error {}

function channelValid(buf) {
  if (buf.length === 0 || buf.length > CHANNEL_MAX) return false;
  for (const c of buf) {
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x5f || c === 0x3a ||
      c === 0x2f || c === 0x2d;
    if (!ok) return false;
  }
  return true;
}

const M64 = (1n << 64n) - 1n;
const rotl = (x, b) => ((x << b) | (x >> (64n - b))) & M64;

/* SipHash-2-4 with a 128-bit tag (libsodium's crypto_shorthash_siphashx24). */
function siphash128(key, data) {
  const k0 = key.readBigUInt64LE(0);
  const k1 = key.readBigUInt64LE(8);
  let v0 = 0x736f6d6570736575n ^ k0;
  let v1 = 0x646f72616e646f6dn ^ k1 ^ 0xeen;
  let v2 = 0x6c7967656e657261n ^ k0;
  let v3 = 0x7465646279746573n ^ k1;
  const rounds = (count) => {
    for (let i = 0; i < count; i++) {
      v0 = (v0 + v1) & M64; v1 = rotl(v1, 13n) ^ v0; v0 = rotl(v0, 32n);
      v2 = (v2 + v3) & M64; v3 = rotl(v3, 16n) ^ v2;
      v0 = (v0 + v3) & M64; v3 = rotl(v3, 21n) ^ v0;
      v2 = (v2 + v1) & M64; v1 = rotl(v1, 17n) ^ v2; v2 = rotl(v2, 32n);
    }
  };
  const n = data.length;
  const end = n - (n % 8);
  const absorb = (m) => { v3 ^= m; rounds(2); v0 ^= m; };
  for (let i = 0; i < end; i += 8) absorb(data.readBigUInt64LE(i));
  let last = BigInt(n & 0xff) << 56n;
  for (let i = end; i < n; i++) last |= BigInt(data[i]) << BigInt(8 * (i - end));
  absorb(last);
  v2 ^= 0xeen;
  rounds(4);
  const out = Buffer.alloc(16);
  out.writeBigUInt64LE(v0 ^ v1 ^ v2 ^ v3, 0);
  v1 ^= 0xddn;
  rounds(4);
  out.writeBigUInt64LE(v0 ^ v1 ^ v2 ^ v3, 8);
  return out;
}

/* The direction's SipHash key: BLAKE2b-128 keyed with the session key over
 * the label and the direction byte. */
function macKey(key, direction) {
  return blake2b(Buffer.concat([MAC_LABEL, Buffer.from([direction])]), key, 16);
}

/* The 32-byte MAC field of datagram: the tag over the datagram without that
 * field, then 16 zeros. */
function mac(key, direction, datagram) {
  const data = Buffer.concat([datagram.subarray(0, 32), datagram.subarray(HEADER_LEN)]);
  return Buffer.concat([siphash128(macKey(key, direction), data),
    Buffer.alloc(MAC_LEN - TAG_LEN)]);
}

/* One datagram, MAC'd under key for direction. */
function seal(key, direction, seq, type, requestId = 0, channel = Buffer.alloc(0),
  body = Buffer.alloc(0), status = 0, nfds = 0) {
  if (channel.length > CHANNEL_MAX || nfds > MAX_FDS ||
      HEADER_LEN + channel.length + body.length > FRAME_MAX) {
    throw new RangeError('frame out of range');
  }
  const d = Buffer.alloc(HEADER_LEN + channel.length + body.length);
  MAGIC.copy(d, 0);
  d[4] = VERSION;
  d[5] = type;
  d.writeUInt16LE(nfds ? FLAG_FDS : 0, 6);
  d.writeUInt32LE(requestId >>> 0, 8);
  d.writeUInt16LE(channel.length, 12);
  d.writeUInt16LE(status, 14);
  d.writeUInt32LE(body.length, 16);
  d[20] = nfds;
  d.writeBigUInt64LE(BigInt(seq), 24);
  channel.copy(d, HEADER_LEN);
  body.copy(d, HEADER_LEN + channel.length);
  mac(key, direction, d).copy(d, 32);
  return d;
}

/* Checks a datagram as the gateway does; returns the frame or throws a
 * TransportError naming the first check that failed. */
function openFrame(key, direction, d, expectedSeq, nfdsReceived = 0,
  cap = FRAME_MAX) {
  const n = d.length;
  if (n < HEADER_LEN) throw new TransportError('frame-short');
  if (n > Math.min(cap, FRAME_MAX)) throw new TransportError('frame-too-big');
  if (!d.subarray(0, 4).equals(MAGIC)) throw new TransportError('frame-bad-magic');
  if (d[4] !== VERSION) throw new TransportError('frame-bad-version');
  const type = d[5];
  if (type === 0 || type > T.UNSUBSCRIBE) throw new TransportError('frame-bad-type');
  const flags = d.readUInt16LE(6);
  const requestId = d.readUInt32LE(8);
  const clen = d.readUInt16LE(12);
  const status = d.readUInt16LE(14);
  const blen = d.readUInt32LE(16);
  const nfds = d[20];
  const seq = Number(d.readBigUInt64LE(24));
  if ((flags & ~FLAG_FDS) || d[21] || d[22] || d[23]) throw new TransportError('frame-bad-flags');
  if (Boolean(flags & FLAG_FDS) !== (nfds !== 0) || nfds > MAX_FDS) throw new TransportError('frame-bad-flags');
  if (type === T.ERROR ? (status === 0 || status > 7) : status !== 0) throw new TransportError('frame-bad-flags');
  if (HEADER_LEN + clen + blen !== n) throw new TransportError('frame-bad-length');
  const channel = d.subarray(HEADER_LEN, HEADER_LEN + clen);
  if (WITH_CHANNEL.has(type) ? !channelValid(channel) : clen !== 0) throw new TransportError('frame-bad-channel');
  if (!crypto.timingSafeEqual(mac(key, direction, d), d.subarray(32, 64))) throw new TransportError('frame-bad-mac');
  if (seq !== expectedSeq) throw new TransportError('frame-bad-seq');
  if (nfds !== nfdsReceived) throw new TransportError('frame-bad-fds');
  return { type, flags, requestId, status, nfds, seq,
    channel: channel.toString('latin1'), body: Buffer.from(d.subarray(HEADER_LEN + clen)) };
}

/* ---- the preload step: runs at require time ---- */

function takeKey() {
  const s = process.env.CAPGATE_KEY_FD;
  if (s === undefined) return null;
  delete process.env.CAPGATE_KEY_FD;
  const fd = Number(s);
  if (!Number.isInteger(fd) || fd < 3 || fd > 1024) return false;
  const key = Buffer.alloc(KEY_LEN);
  let got = 0;
  try {
    while (got < KEY_LEN) {
      const n = fs.readSync(fd, key, got, KEY_LEN - got, null);
      if (n <= 0) break;
      got += n;
    }
  } catch (e) {
    return false;
  } finally {
    try { fs.closeSync(fd); } catch (e) { /* already closed */ }
  }
  return got === KEY_LEN ? key : false;
}

let preloadKey = takeKey();

/* ---- the connection ---- */

class Connection {
  constructor() {
    const fd = process.env.CAPGATE_FD;
    if (fd === undefined) throw new TransportError('not started by capgate (no CAPGATE_FD)');
    if (!preloadKey) throw new TransportError('no session key was delivered');
    this.key = preloadKey;
    preloadKey = null;
    this.fd = Number(fd);
    this.sendSeq = 0;
    this.recvSeq = 0;
    this.nextId = 1;
    this.waiting = new Map();     /* request id -> { resolve, reject, timer } */
    this.listeners = new Map();   /* channel -> [fn] */
    this.reading = false;
    this.failed = null;
    this.buf = Buffer.alloc(FRAME_MAX + 1);
  }

  sendFrame(type, channel, body, requestId) {
    const ch = Buffer.from(channel || '', 'latin1');
    if (WITH_CHANNEL.has(type) && !channelValid(ch)) {
      throw new TypeError(`invalid channel name ${JSON.stringify(channel)}`);
    }
    const id = requestId !== undefined ? requestId : this.nextId;
    if (requestId === undefined) this.nextId = (this.nextId + 1) >>> 0 || 1;
    const d = seal(this.key, TO_GATEWAY, this.sendSeq + 1, type, id, ch,
      body || Buffer.alloc(0));
    if (fs.writeSync(this.fd, d) !== d.length) throw new TransportError('short write');
    this.sendSeq++;
    return id;
  }

  /* Keeps one read outstanding while anyone waits or listens. */
  pump() {
    if (this.reading || this.failed) return;
    if (this.waiting.size === 0 && this.listeners.size === 0) return;
    this.reading = true;
    fs.read(this.fd, this.buf, 0, this.buf.length, null, (err, n) => {
      this.reading = false;
      if (err || n === 0) {
        this.fail(new TransportError(err ? `read: ${err.message}` : 'the gateway closed the connection'));
        return;
      }
      try {
        this.handle(openFrame(this.key, TO_CLIENT, this.buf.subarray(0, n),
          this.recvSeq + 1, this.buf[20] <= MAX_FDS ? this.buf[20] : 0));
      } catch (e) {
        this.fail(e instanceof TransportError ? e : new TransportError(String(e)));
        return;
      }
      this.pump();
    });
  }

  handle(f) {
    this.recvSeq = f.seq;
    if (f.type === T.EVENT) {
      const payload = f.body.length ? JSON.parse(f.body) : null;
      for (const fn of (this.listeners.get(f.channel) || []).slice()) fn(f.channel, payload);
      return;
    }
    const w = this.waiting.get(f.requestId);
    if (!w) throw new TransportError('an answer to nothing we asked');
    this.waiting.delete(f.requestId);
    clearTimeout(w.timer);
    if (f.nfds > 0) {
      /* the kernel closed them: read() takes no SCM_RIGHTS */
      w.reject(new TransportError('the reply carried file descriptors, which Node\'s standard library cannot receive'));
    } else if (f.type === T.ERROR) {
      w.reject(new CapgateError(STATUS_NAMES[f.status] || 'failed', f.status));
    } else if (f.type === T.REPLY || f.type === T.WELCOME) {
      w.resolve(f.body.length ? JSON.parse(f.body) : null);
    } else {
      w.reject(new TransportError(`unexpected frame type ${f.type}`));
    }
  }

  fail(err) {
    this.failed = err;
    for (const w of this.waiting.values()) { clearTimeout(w.timer); w.reject(err); }
    this.waiting.clear();
  }

  request(type, channel, data, timeoutMs) {
    if (this.failed) return Promise.reject(this.failed);
    let id;
    try {
      id = this.sendFrame(type, channel, Buffer.from(JSON.stringify(data === undefined ? null : data)));
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      const w = { resolve, reject, timer: null };
      if (timeoutMs !== undefined && timeoutMs >= 0) {
        w.timer = setTimeout(() => {
          this.waiting.delete(id);
          reject(new TransportError(`no answer within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.waiting.set(id, w);
      this.pump();
    });
  }

  async hello() {
    this.welcome = await this.request(T.HELLO, '', { version: VERSION, library: 'capgate-node' }, 5000);
    return this;
  }

  /* Resolves with the result, or rejects with a CapgateError. */
  invoke(channel, data, { timeout } = {}) {
    return this.request(T.INVOKE, channel, data, timeout);
  }

  /* A one-way message on a send channel. */
  send(channel, data) {
    this.sendFrame(T.SEND, channel, Buffer.from(JSON.stringify(data === undefined ? null : data)));
  }

  /* Calls fn(channel, payload) for each event on channel; returns a
   * function that removes fn again. */
  on(channel, fn) {
    let fns = this.listeners.get(channel);
    if (!fns) {
      this.sendFrame(T.SUBSCRIBE, channel);
      fns = [];
      this.listeners.set(channel, fns);
    }
    fns.push(fn);
    this.pump();
    return () => this.off(channel, fn);
  }

  off(channel, fn) {
    const fns = this.listeners.get(channel);
    if (!fns) return;
    const i = fn ? fns.indexOf(fn) : -1;
    if (fn && i >= 0) fns.splice(i, 1);
    if (!fn) fns.length = 0;
    if (fns.length === 0) {
      this.listeners.delete(channel);
      this.sendFrame(T.UNSUBSCRIBE, channel);
    }
  }
}

/* Connects with the environment `capgate run` set; resolves once the
 * gateway has welcomed us. */
function connect() {
  try {
    return new Connection().hello();
  } catch (e) {
    return Promise.reject(e);
  }
}

module.exports = { connect, Connection, CapgateError, TransportError, seal,
  openFrame, blake2b, Blake2b, siphash128, macKey, T, TO_GATEWAY, TO_CLIENT, STATUS_NAMES };
