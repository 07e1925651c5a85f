"""The live form over UDP: the encoder's records as datagrams, keyframes cut into chunks that fit a packet, and
requests going back. Loss-tolerant: a lost DELTA record costs its own frame, a lost INTRA record the frames until
the next one (the receiver shows the last picture again meanwhile); a lost keyframe chunk is asked for again by
number and re-sent alone (so a keyframe gets through even when most of its first sending is lost); records that
refer to a keyframe or an INTRA frame this side never completed are held, not decoded into nonsense; a sender
that restarts (a new session id) starts the receiver afresh; a damaged or foreign datagram is dropped and
counted, never raised.

Datagram (all integers little-endian): b"DZ", kind (R record, C keyframe chunk, Q request), the sender's session
id (u16, random per sender), sequence number (u16), the keyframe id the datagram belongs to (u8, 1-255), the
sequence number of the INTRA frame a DELTA record is coded against (u16), the frame number (u16: frames whose
records were lost are shown as the last picture); then for R the record; for C the chunk index and count (u16
each) and its share of (stream header + keyframe record); for Q the missing chunk indices of that keyframe (u16
each; none: "send a new keyframe")."""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import time
from dataclasses import dataclass

import numpy as np

from ...settings import host_port
from .bits import CodecError
from .container import DELTA, INTRA, KEYFRAME, Header, records
from .decoder import KeypointDecoder
from .encoder import KeypointEncoder

MAGIC = b"DZ"
RECORD, CHUNK, REQUEST = b"R", b"C", b"Q"
_HEAD = struct.Struct("<2scHHBHH")
DATAGRAM_HEADER = _HEAD.size  # bytes each datagram adds to its record or chunk
_CHUNK = struct.Struct("<HH")
CHUNK_BYTES = 1200  # keyframe share per datagram: below the usual 1500-byte path MTU with IP/UDP headers
ASK_EVERY_S = 0.1  # the receiver repeats a request at most this often
NEW_KEY_EVERY_S = 1.0  # the sender makes a new keyframe on request at most this often
MAX_FILL = 30  # frames the receiver fills in for lost records at most
MAX_BATCH = 16  # datagrams one receive() handles at most (the rest wait in the socket, or overflow as loss)


def parse_address(text: str) -> tuple[str, int]:
    """HOST:PORT with the host resolved once, to a numeric IPv4 address (CodecError if it cannot be)."""
    try:
        host, port = host_port(text)
    except ValueError as exc:
        raise CodecError(str(exc)) from None
    try:
        return socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)[0][4][:2]
    except (OSError, IndexError) as exc:
        raise CodecError(f"{text}: cannot resolve {host} ({exc})") from None


class KeypointSender:
    """Encodes frames and sends them to `address` (host resolved: see parse_address); answers the receiver's
    requests. A network error loses that datagram, as a network would; it never raises."""

    def __init__(self, encoder: KeypointEncoder, address: tuple[str, int], sock: socket.socket | None = None):
        self.encoder, self.address = encoder, address
        self.sock = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.session = random.SystemRandom().randrange(1, 0x10000)
        self.seq, self.intra_seq, self.key_id, self.frame = 0, 0, 0, 0
        self.chunks: list[bytes] = []  # the current keyframe's, for re-sending
        self.bytes_sent, self.send_errors = 0, 0
        self.resent_chunks, self.new_key_requests = 0, 0
        self._new_key_at = -1e9

    def send(self, frame: np.ndarray, faces: list | None = None) -> None:
        self._answer_requests()
        for rec in self.encoder.encode(frame, faces):
            if rec[:1] == KEYFRAME:
                self._keyframe(self.encoder.header.pack() + rec)
                continue
            if rec[:1] == INTRA:
                self.intra_seq = self.seq
            self._datagram(RECORD, rec)
        self.frame = (self.frame + 1) & 0xFFFF

    def _keyframe(self, blob: bytes) -> None:
        parts = [blob[i:i + CHUNK_BYTES] for i in range(0, len(blob), CHUNK_BYTES)]  # < 65536 for any JPEG
        self.key_id = self.key_id % 255 + 1  # 1..255
        self.chunks = [_CHUNK.pack(i, len(parts)) + part for i, part in enumerate(parts)]
        for c in self.chunks:
            self._datagram(CHUNK, c)

    def _datagram(self, kind: bytes, body: bytes) -> None:
        data = _HEAD.pack(MAGIC, kind, self.session, self.seq, self.key_id, self.intra_seq, self.frame) + body
        self.seq = (self.seq + 1) & 0xFFFF
        try:
            self.sock.sendto(data, self.address)
            self.bytes_sent += len(data)
        except OSError:  # no receiver, a full buffer, the network gone: that datagram is lost
            self.send_errors += 1

    def _answer_requests(self) -> None:
        while True:
            try:
                data, _ = self.sock.recvfrom(4096)
            except OSError:  # nothing waiting (or an ICMP error reported late)
                return
            if len(data) < _HEAD.size or data[:2] != MAGIC or data[2:3] != REQUEST:
                continue
            _, _, session, _, key, _, _ = _HEAD.unpack(data[:_HEAD.size])
            body = data[_HEAD.size:]
            missing = struct.unpack(f"<{len(body) // 2}H", body[:len(body) // 2 * 2])
            if session == self.session and key == self.key_id and missing and self.chunks:
                for i in sorted(set(missing)):
                    if i < len(self.chunks):
                        self.resent_chunks += 1
                        self._datagram(CHUNK, self.chunks[i])
            elif time.monotonic() - self._new_key_at >= NEW_KEY_EVERY_S:
                self._new_key_at = time.monotonic()
                self.new_key_requests += 1
                self.encoder.request_keyframe()

    def close(self) -> None:
        self.sock.close()


@dataclass
class ReceiverStats:
    datagrams: int = 0
    frames: int = 0
    lost: int = 0  # datagrams missing from the sequence
    dropped: int = 0  # damaged, foreign or late datagrams
    held: int = 0  # frames shown again because their motion could not be decoded
    keyframes: int = 0
    requests: int = 0
    sessions: int = 0  # senders seen (a restarted sender is a new one)


class KeypointReceiver:
    """Receives datagrams on `port` and turns them into frames."""

    def __init__(self, port: int, host: str = "0.0.0.0"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind((host, port))
        except OSError:
            self.sock.close()
            raise
        self.stats = ReceiverStats()
        self._session: int | None = None
        self._restart()
        self._sender: tuple[str, int] | None = None
        self._asked = -1e9

    def _restart(self) -> None:
        """Forget the stream (a new sender): nothing of the old one is decoded against the new one."""
        self.decoder: KeypointDecoder | None = None
        self._expect: int | None = None
        self._key = 0  # the keyframe id the decoder holds (0: none)
        self._intra_seq: int | None = None  # the INTRA frame the decoder holds
        self._partial: tuple[int, int, dict[int, bytes]] | None = None  # (key id, count, chunks) being assembled
        self._number: int | None = None  # the last frame number received
        self._last: np.ndarray | None = None  # the last picture given out
        self._early: tuple[int, int, bytes, bool] | None = None  # (key id, seq, payload, held): the newest INTRA
        # record that came before its keyframe was complete, decoded as soon as it is (the DELTAs after it need
        # it); `held`: the last picture was given out in its place already

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    def receive(self, timeout: float = 0.1, max_datagrams: int = MAX_BATCH) -> list[np.ndarray]:
        """The frames of the datagrams waiting, at most `max_datagrams` of them (waits up to `timeout` for the
        first); a frame whose record was lost comes out as the last picture again, so the frames keep time."""
        self.sock.settimeout(timeout)
        frames: list[np.ndarray] = []
        for _ in range(max_datagrams):
            try:
                data, sender = self.sock.recvfrom(65536)
            except OSError:  # timeout, nothing more waiting, or an ICMP error from our last request
                break
            self.sock.settimeout(0)
            self._sender = sender
            try:
                frames += self._datagram(data) or []
            except Exception:  # noqa: BLE001 - whatever a datagram holds, it costs at most itself
                self.stats.dropped += 1
        return frames

    def _datagram(self, data: bytes) -> list[np.ndarray] | None:
        if len(data) < _HEAD.size or data[:2] != MAGIC or data[2:3] not in (RECORD, CHUNK):
            self.stats.dropped += 1
            return None
        _, kind, session, seq, key, intra, number = _HEAD.unpack(data[:_HEAD.size])
        if session != self._session:
            self._session = session
            self.stats.sessions += 1
            self._restart()
        gap = 0 if self._expect is None else (seq - self._expect) & 0xFFFF
        if gap >= 0x8000:  # late or repeated: already past it
            self.stats.dropped += 1
            return None
        self.stats.datagrams += 1
        self.stats.lost += gap
        self._expect = (seq + 1) & 0xFFFF
        body = data[_HEAD.size:]
        if kind == CHUNK:
            return self._chunk(body, key)
        return self._frames(number, self._record(body, seq, key, intra, gap > 0))

    def _chunk(self, body: bytes, key: int) -> None:
        index, count = _CHUNK.unpack(body[:_CHUNK.size])
        if key == 0 or key == self._key or not index < count:  # 0 is no keyframe; ours is complete already
            if key == 0 or not index < count:
                self.stats.dropped += 1
            return None
        if self._partial is None or self._partial[:2] != (key, count):
            self._partial = (key, count, {})
        chunks = self._partial[2]
        chunks[index] = body[_CHUNK.size:]
        if len(chunks) == count:
            blob = b"".join(chunks[i] for i in range(count))
            self._partial = None
            header = Header.unpack(blob, "received stream")
            if self.decoder is None or self.decoder.header != header:
                self.decoder = KeypointDecoder(header, "received stream")
            for kind, payload in records(blob, Header.size(), "received keyframe"):
                self.decoder.feed(kind, payload)
            self._key, self._intra_seq = key, None
            self.stats.keyframes += 1
            early, self._early = self._early, None
            if early is not None and early[0] == key:
                self._intra_seq = early[1]
                frame = self.decoder.feed(INTRA, early[2])
                if early[3]:  # its frame went out as the last picture: it only prepares the next ones
                    return None
                self._last = frame
                self.stats.frames += 1
                return [frame]
        return None

    def _record(self, body: bytes, seq: int, key: int, intra: int, gap: bool) -> np.ndarray | None:
        (kind, payload), = records(body, 0, "received record")
        dec = self.decoder
        if dec is None or key != self._key:  # its keyframe is missing or incomplete: ask, and hold
            held = self._held(None if dec is None else dec.last)
            if kind == INTRA and (self._early is None or self._early[0] != key or (seq - self._early[1]) & 0x8000 == 0):
                self._early = (key, seq, payload, held is not None)
            self._ask()
            return held
        if kind == INTRA:
            self._intra_seq = seq
        elif kind == DELTA and (intra != self._intra_seq if dec.header.from_intra else gap):
            dec.prev = None  # coded against something this side never got
        held = kind == DELTA and dec.prev is None
        frame = dec.feed(kind, payload)
        self.stats.frames += 1
        self.stats.held += held
        return frame

    def _frames(self, number: int, frame: np.ndarray | None) -> list[np.ndarray] | None:
        """`frame`, after the last picture again for each frame number skipped since the previous record (at
        most MAX_FILL: a long silence is not replayed)."""
        skipped = 0 if self._number is None else (number - self._number - 1) & 0xFFFF
        self._number = number
        if frame is None:
            return None
        last = self._last if self._last is not None else frame
        self._last = frame
        fill = min(skipped, MAX_FILL) if skipped < 0x8000 else 0
        self.stats.held += fill
        self.stats.frames += fill
        return [last] * fill + [frame]

    def _held(self, frame: np.ndarray | None) -> np.ndarray | None:
        if frame is not None:
            self.stats.frames += 1
            self.stats.held += 1
        return frame

    def _ask(self) -> None:
        """Ask for the missing chunks of the keyframe being assembled, or for a new keyframe."""
        now = time.monotonic()
        if self._sender is None or now - self._asked < ASK_EVERY_S:
            return
        self._asked = now
        self.stats.requests += 1
        key, missing = 0, b""
        if self._partial is not None:
            key, count, chunks = self._partial
            gone = [i for i in range(count) if i not in chunks][:500]
            missing = struct.pack(f"<{len(gone)}H", *gone)
        with contextlib.suppress(OSError):
            self.sock.sendto(_HEAD.pack(MAGIC, REQUEST, self._session or 0, 0, key, 0, 0) + missing, self._sender)
