"""capgate client library for Python (standard library only).

A front-end started by ``capgate run`` talks to the gateway through this
module; a backend started by the gateway serves channels through it too
(``Backend``). The wire format is docs/PROTOCOL.md: one SOCK_SEQPACKET
datagram per frame, a 64-byte header, the channel, a JSON body, a
SipHash-2-4-128 MAC under a per-direction key over the datagram without its
MAC field, and per-direction sequence numbers.

The session key is read from CAPGATE_KEY_FD when this module is imported,
before the importing program's own code goes on: the pipe is closed and
the variable removed, like the C library's preload step.

    import capgate
    gw = capgate.connect()
    print(gw.invoke("notes:list", {}))
    off = gw.on("notes:changed", lambda ch, payload: print(payload))
    gw.poll(1.0)
    off()
"""
import hmac
import hashlib
import json
import os
import select
import socket
import struct
import time

__all__ = ["connect", "Connection", "Backend", "BackendError", "Reply",
           "Error", "TransportError",
           "seal", "open_frame", "Frame"]

MAGIC = b"CGW1"
VERSION = 3
HEADER_LEN = 64
MAC_LEN = 32          # the header's MAC field: 16-byte tag, 16 zeros
TAG_LEN = 16
MAC_LABEL = b"capgate frame mac"
FRAME_MAX = 64 * 1024
CHANNEL_MAX = 128
MAX_FDS = 4
KEY_LEN = 32
FLAG_FDS = 0x0001

HELLO, WELCOME, INVOKE, SEND, REPLY, ERROR, EVENT, SUBSCRIBE, UNSUBSCRIBE = \
    range(1, 10)
TYPE_MAX = UNSUBSCRIBE
TO_GATEWAY, TO_CLIENT = 1, 2

# The gateway's closed set of error codes (an ERROR frame's status).
STATUS_NAMES = {1: "denied", 2: "invalid", 3: "limited", 4: "timeout",
                5: "unavailable", 6: "failed", 7: "protocol"}
STATUS_CODES = {v: k for k, v in STATUS_NAMES.items()}

_HEAD = struct.Struct("<4sBBHIHHIB3sQ")   # the first 32 header bytes
_CHANNEL_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz"
                           b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/-")
_WITH_CHANNEL = (INVOKE, SEND, EVENT, SUBSCRIBE, UNSUBSCRIBE)


class Error(Exception):
    """An answer from the gateway that is not a result: .code is one of
    "denied", "invalid", "limited", "timeout", "unavailable", "failed",
    "protocol". The reason is in the audit log, not here."""

    def __init__(self, code, status=None):
        super().__init__(code)
        self.code = code
        self.status = status


class TransportError(Exception):
    """The connection failed, or a frame from the gateway was not genuine."""


class Frame:
    __slots__ = ("type", "flags", "request_id", "status", "nfds", "seq",
                 "channel", "body")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


_M64 = (1 << 64) - 1


def _sip_rounds(v0, v1, v2, v3, n):
    """n SipRounds over the state."""
    M = _M64
    for _ in range(n):
        v0 = (v0 + v1) & M
        v1 = ((v1 << 13) & M | v1 >> 51) ^ v0
        v0 = (v0 << 32) & M | v0 >> 32
        v2 = (v2 + v3) & M
        v3 = ((v3 << 16) & M | v3 >> 48) ^ v2
        v0 = (v0 + v3) & M
        v3 = ((v3 << 21) & M | v3 >> 43) ^ v0
        v2 = (v2 + v1) & M
        v1 = ((v1 << 17) & M | v1 >> 47) ^ v2
        v2 = (v2 << 32) & M | v2 >> 32
    return v0, v1, v2, v3


def _siphash128(key, data):
    """SipHash-2-4 with a 128-bit tag (libsodium's crypto_shorthash_siphashx24)."""
    k0, k1 = struct.unpack_from("<QQ", key)
    v0 = 0x736f6d6570736575 ^ k0
    v1 = 0x646f72616e646f6d ^ k1 ^ 0xee
    v2 = 0x6c7967656e657261 ^ k0
    v3 = 0x7465646279746573 ^ k1
    n = len(data)
    end = n - n % 8
    words = list(struct.unpack_from("<%dQ" % (end // 8), data))
    words.append(int.from_bytes(data[end:], "little") | (n & 0xff) << 56)
    for m in words:
        v0, v1, v2, v3 = _sip_rounds(v0, v1, v2, v3 ^ m, 2)
        v0 ^= m
    v0, v1, v2, v3 = _sip_rounds(v0, v1, v2 ^ 0xee, v3, 4)
    first = v0 ^ v1 ^ v2 ^ v3
    v0, v1, v2, v3 = _sip_rounds(v0, v1 ^ 0xdd, v2, v3, 4)
    return struct.pack("<QQ", first, v0 ^ v1 ^ v2 ^ v3)


def mac_key(key, direction):
    """The direction's SipHash key: BLAKE2b-128 keyed with the session key
    over the label and the direction byte."""
    return hashlib.blake2b(MAC_LABEL + bytes((direction,)), digest_size=16,
                           key=key).digest()


def _mac(key, direction, datagram):
    """The 32-byte MAC field of datagram: the tag over the datagram without
    that field, then 16 zeros."""
    data = bytes(datagram[:32]) + bytes(datagram[HEADER_LEN:])
    return _siphash128(mac_key(key, direction), data) + bytes(MAC_LEN - TAG_LEN)


def channel_valid(name):
    return (isinstance(name, bytes) and 0 < len(name) <= CHANNEL_MAX and
            all(c in _CHANNEL_BYTES for c in name))


def seal(key, direction, seq, type_, request_id=0, channel=b"", body=b"",
         status=0, nfds=0):
    """One datagram: header, channel, body, MAC'd under key for direction."""
    if len(channel) > CHANNEL_MAX or nfds > MAX_FDS:
        raise ValueError("channel or fd count out of range")
    if HEADER_LEN + len(channel) + len(body) > FRAME_MAX:
        raise ValueError("frame larger than %d bytes" % FRAME_MAX)
    head = _HEAD.pack(MAGIC, VERSION, type_, FLAG_FDS if nfds else 0,
                      request_id, len(channel), status, len(body), nfds,
                      b"\0\0\0", seq)
    datagram = head + bytes(MAC_LEN) + channel + body
    return head + _mac(key, direction, datagram) + channel + body


def open_frame(key, direction, datagram, expected_seq, nfds_received=0,
               cap=FRAME_MAX):
    """Checks a received datagram the way the gateway does (size, header,
    lengths, channel, MAC, sequence number, fd count) and returns a Frame,
    or raises TransportError naming the first check that failed."""
    n = len(datagram)
    if n < HEADER_LEN:
        raise TransportError("frame-short")
    if n > min(cap, FRAME_MAX):
        raise TransportError("frame-too-big")
    (magic, version, type_, flags, rid, clen, status, blen, nfds, reserved,
     seq) = _HEAD.unpack_from(datagram)
    if magic != MAGIC:
        raise TransportError("frame-bad-magic")
    if version != VERSION:
        raise TransportError("frame-bad-version")
    if type_ == 0 or type_ > TYPE_MAX:
        raise TransportError("frame-bad-type")
    if flags & ~FLAG_FDS or reserved != b"\0\0\0":
        raise TransportError("frame-bad-flags")
    if bool(flags & FLAG_FDS) != (nfds != 0) or nfds > MAX_FDS:
        raise TransportError("frame-bad-flags")
    if (status == 0 or status > 7) if type_ == ERROR else status != 0:
        raise TransportError("frame-bad-flags")
    if HEADER_LEN + clen + blen != n:
        raise TransportError("frame-bad-length")
    channel = bytes(datagram[HEADER_LEN:HEADER_LEN + clen])
    if (not channel_valid(channel)) if type_ in _WITH_CHANNEL else clen:
        raise TransportError("frame-bad-channel")
    if not hmac.compare_digest(_mac(key, direction, datagram),
                               bytes(datagram[32:64])):
        raise TransportError("frame-bad-mac")
    if seq != expected_seq:
        raise TransportError("frame-bad-seq")
    if nfds != nfds_received:
        raise TransportError("frame-bad-fds")
    return Frame(type=type_, flags=flags, request_id=rid, status=status,
                 nfds=nfds, seq=seq, channel=channel.decode("ascii"),
                 body=bytes(datagram[HEADER_LEN + clen:]))


def _take_key():
    """The preload step: runs at import."""
    s = os.environ.pop("CAPGATE_KEY_FD", None)
    if s is None:
        return None
    try:
        os.unsetenv("CAPGATE_KEY_FD")
    except OSError:
        pass
    try:
        fd = int(s)
    except ValueError:
        return False
    if fd < 3 or fd > 1024:
        return False
    key = b""
    try:
        while len(key) < KEY_LEN:
            chunk = os.read(fd, KEY_LEN - len(key))
            if not chunk:
                break
            key += chunk
    except OSError:
        return False
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
    return key if len(key) == KEY_LEN else False


_preload_key = _take_key()


def _dumps(value):
    return json.dumps(value, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def _close_fds(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


class _Session:
    """One authenticated connection on fd 3 (the "client" end of the MAC
    directions, for front-ends and backends alike)."""

    def __init__(self, role):
        global _preload_key
        fd = os.environ.get("CAPGATE_FD")
        if fd is None:
            raise TransportError("not started by capgate (no CAPGATE_FD)")
        if not _preload_key:
            raise TransportError("no session key was delivered")
        self._key, _preload_key = _preload_key, None
        self.sock = socket.socket(fileno=int(fd))
        if self.sock.type != socket.SOCK_SEQPACKET:
            raise TransportError("CAPGATE_FD is not a SEQPACKET socket")
        self._send_seq = 0
        self._recv_seq = 0
        self._next_id = 1
        hello = {"version": VERSION, "library": "capgate-python"}
        rid = self._send(HELLO, body=_dumps(hello))
        f, fds = self._recv(5.0)
        _close_fds(fds)
        if f is None or f.type != WELCOME or f.request_id != rid:
            raise TransportError("the gateway did not welcome this %s" % role)
        self.welcome = json.loads(f.body or b"null")

    def fileno(self):
        return self.sock.fileno()

    def _send(self, type_, channel="", body=b"", request_id=None, status=0,
              fds=()):
        if request_id is None:
            request_id = self._next_id
            self._next_id = (self._next_id + 1) & 0xffffffff or 1
        ch = channel.encode("ascii") if channel else b""
        if type_ in _WITH_CHANNEL and not channel_valid(ch):
            raise ValueError("invalid channel name %r" % channel)
        self._send_seq += 1
        dg = seal(self._key, TO_GATEWAY, self._send_seq, type_, request_id,
                  ch, body, status, len(fds))
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                struct.pack("%di" % len(fds), *fds))] if fds else []
        try:
            self.sock.sendmsg([dg], anc)
        except OSError as e:
            self._send_seq -= 1
            raise TransportError("send: %s" % e) from e
        return request_id

    def _recv(self, timeout):
        """One frame and the fds attached to it, or (None, []) on timeout."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return None, []
        anc = socket.CMSG_SPACE(MAX_FDS * 4)
        data, ancdata, flags, _ = self.sock.recvmsg(
            FRAME_MAX + 1, anc, getattr(socket, "MSG_CMSG_CLOEXEC", 0))
        fds = []
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.extend(struct.unpack("%di" % (len(payload) // 4),
                                         payload[:len(payload) // 4 * 4]))
        if not data:
            _close_fds(fds)
            raise TransportError("the gateway closed the connection")
        if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC) or len(fds) > MAX_FDS:
            _close_fds(fds)
            raise TransportError("frame too big or too many fds")
        try:
            f = open_frame(self._key, TO_CLIENT, data, self._recv_seq + 1,
                           len(fds))
        except TransportError:
            _close_fds(fds)
            raise
        self._recv_seq = f.seq
        return f, fds

    def close(self):
        self.sock.close()
        self._key = None


class Connection(_Session):
    """A front-end's connection to the gateway."""

    def __init__(self):
        super().__init__("client")
        self._listeners = {}

    def invoke(self, channel, data=None, timeout=None, want_fds=False,
               fds=()):
        """Sends data on an invoke channel and returns the decoded result
        (and, with want_fds, the list of fds attached to the reply, which
        the caller then owns). fds: bulk data for a backend channel that
        declares "fds", as sealed memfds (they stay the caller's). Raises
        Error for an error answer."""
        rid = self._send(INVOKE, channel, _dumps(data), fds=fds)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0,
                                                     deadline - time.monotonic())
            f, fds = self._recv(left)
            if f is None:
                raise TransportError("no answer within %ss" % timeout)
            if f.type == EVENT:
                _close_fds(fds)
                self._dispatch(f)
                continue
            if f.request_id != rid or f.type not in (REPLY, ERROR):
                _close_fds(fds)
                raise TransportError("an answer to nothing we asked")
            if f.type == ERROR:
                _close_fds(fds)
                raise Error(STATUS_NAMES.get(f.status, "failed"), f.status)
            result = json.loads(f.body) if f.body else None
            if want_fds:
                return result, fds
            _close_fds(fds)
            return result

    def send(self, channel, data=None):
        """A one-way message on a send channel."""
        self._send(SEND, channel, _dumps(data))

    def on(self, channel, fn):
        """Calls fn(channel, payload) for every event on channel (during
        poll() and invoke()). Returns a function that removes fn again."""
        fns = self._listeners.setdefault(channel, [])
        if not fns:
            self._send(SUBSCRIBE, channel)
        fns.append(fn)
        return lambda: self.off(channel, fn)

    def off(self, channel, fn=None):
        fns = self._listeners.get(channel, [])
        if fn is None:
            fns.clear()
        elif fn in fns:
            fns.remove(fn)
        if not fns and channel in self._listeners:
            del self._listeners[channel]
            self._send(UNSUBSCRIBE, channel)

    def poll(self, timeout=0.0):
        """Waits up to timeout seconds for events and dispatches them;
        returns how many arrived."""
        n = 0
        deadline = time.monotonic() + timeout
        while True:
            f, fds = self._recv(max(0.0, deadline - time.monotonic()))
            _close_fds(fds)
            if f is None:
                return n
            if f.type != EVENT:
                raise TransportError("an answer nobody waits for")
            self._dispatch(f)
            n += 1

    def _dispatch(self, f):
        payload = json.loads(f.body) if f.body else None
        for fn in list(self._listeners.get(f.channel, ())):
            fn(f.channel, payload)


class Reply:
    """A backend handler's result with file descriptors attached (bulk
    data: a memfd or an opened file). The channel must declare "fds" in the
    policy; the descriptors are sent and then closed here."""

    def __init__(self, data, fds=()):
        self.data = data
        self.fds = list(fds)


class BackendError(Exception):
    """Raised by a backend handler to answer with an error code."""

    def __init__(self, code="failed"):
        super().__init__(code)
        self.code = code


class Backend(_Session):
    """A backend's connection: the gateway sends it validated requests in
    an envelope {"caller": {"client": NAME, "pid": PID}, "data": PAYLOAD};
    handlers return the result (checked by the gateway against the channel's
    response schema) or raise BackendError."""

    def __init__(self):
        super().__init__("backend")
        self._handlers = {}
        self.fds = []

    def handle(self, channel, fn):
        """fn(data, caller) -> result, for invokes and sends on channel."""
        self._handlers[channel] = fn

    def emit(self, channel, payload):
        """Pushes an event; the gateway checks it against the channel's
        payload schema and delivers it to subscribed, granted clients."""
        self._send(EVENT, channel, _dumps(payload), request_id=0)

    def serve_one(self, timeout=None):
        """Serves one request. A handler finds the fds that came with it
        (sealed memfds, checked by the gateway) in self.fds; those it does
        not take (by emptying the list) are closed when it returns."""
        f, fds = self._recv(timeout)
        self.fds = fds
        try:
            return self._serve(f)
        finally:
            _close_fds(self.fds)
            self.fds = []

    def _serve(self, f):
        if f is None:
            return False
        if f.type not in (INVOKE, SEND):
            raise TransportError("unexpected frame type %d" % f.type)
        fn = self._handlers.get(f.channel)
        self.request_id = f.request_id
        try:
            # The gateway sends only JSON it has checked; a body that does
            # not decode answers "failed" rather than ending the backend,
            # which every client shares.
            env = json.loads(f.body)
            if not isinstance(env, dict):
                raise BackendError("failed")
            if fn is None:
                raise BackendError("unavailable")
            result = fn(env.get("data"), env.get("caller"))
        except Exception as e:  # a handler bug answers "failed"
            if not isinstance(e, BackendError):
                import traceback
                traceback.print_exc()
            code = getattr(e, "code", "failed")
            if f.type == INVOKE:
                self._send(ERROR, request_id=f.request_id,
                           status=STATUS_CODES.get(code, 6))
            return True
        if isinstance(result, Reply):
            try:
                if f.type == INVOKE:
                    self._send(REPLY, body=_dumps(result.data),
                               request_id=f.request_id, fds=result.fds)
            finally:
                _close_fds(result.fds)
        elif f.type == INVOKE:
            self._send(REPLY, body=_dumps(result), request_id=f.request_id)
        return True

    def serve_forever(self):
        while True:
            self.serve_one(None)


def connect():
    """The front-end's connection, from the environment `capgate run` set."""
    return Connection()
