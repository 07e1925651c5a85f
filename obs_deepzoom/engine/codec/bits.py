"""Bit-level writing and reading with signed Exp-Golomb codes: small numbers take few bits (0 takes one)."""

from __future__ import annotations

import numpy as np

from ...errors import InputError


class CodecError(InputError):
    """A keypoint stream that cannot be decoded (truncated, corrupted, or from another version)."""


class BitWriter:
    def __init__(self):
        self._bits: list[int] = []

    def bits(self, value: int, n: int) -> None:
        self._bits.extend((value >> (n - 1 - i)) & 1 for i in range(n))

    def signed(self, value: int, k: int = 0) -> None:
        """Signed Exp-Golomb of order k: zigzag (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...), then as `unsigned`."""
        self.unsigned(2 * value if value >= 0 else -2 * value - 1, k)

    def unsigned(self, u: int, k: int = 0) -> None:
        """Exp-Golomb of order k: (u >> k) + 1 in Elias-gamma form followed by the k low bits."""
        top = (u >> k) + 1
        n = top.bit_length()
        self._bits.extend([0] * (n - 1))
        self.bits(top, n)
        if k:
            self.bits(u & ((1 << k) - 1), k)

    def getvalue(self) -> bytes:
        pad = (-len(self._bits)) % 8
        return np.packbits(np.array(self._bits + [0] * pad, np.uint8)).tobytes()


class BitReader:
    def __init__(self, data: bytes):
        self._bits = np.unpackbits(np.frombuffer(data, np.uint8))
        self._pos = 0

    def _bit(self) -> int:
        if self._pos >= len(self._bits):
            raise CodecError("a motion record ends early (the stream is damaged)")
        b = int(self._bits[self._pos])
        self._pos += 1
        return b

    def bits(self, n: int) -> int:
        v = 0
        for _ in range(n):
            v = (v << 1) | self._bit()
        return v

    def signed(self, k: int = 0) -> int:
        u = self.unsigned(k)
        return u // 2 if u % 2 == 0 else -(u + 1) // 2

    def unsigned(self, k: int = 0) -> int:
        zeros = 0
        while self._bit() == 0:
            zeros += 1
            if zeros > 40:
                raise CodecError("a motion record holds an impossible number (the stream is damaged)")
        top = (1 << zeros) | self.bits(zeros)
        return ((top - 1) << k) | (self.bits(k) if k else 0)

    def padding_ok(self) -> bool:
        """Only zero padding (< 8 bits) is left."""
        rest = self._bits[self._pos:]
        return len(rest) < 8 and not rest.any()
