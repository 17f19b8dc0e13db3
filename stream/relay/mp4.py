"""Split a fragmented-MP4 byte stream into its init segment and its fragments.

FFmpeg writes `ftyp moov` once, then `moof mdat` pairs. A browser (MSE) or an RTSP
packager that joins late needs the init segment first and must start at a keyframe,
so each fragment is tagged with whether its first sample is an H.264 IDR picture.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class Fragment:
    data: bytes  # one `moof` + `mdat` (plus any `styp`/`sidx` before them)
    key: bool  # starts with an IDR picture: a late joiner may begin here


class Mp4Splitter:
    """Feed bytes in any chunking; get back the init segment once and whole fragments."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pending: list[bytes] = []  # boxes of the unit being assembled
        self.init: bytes | None = None

    def feed(self, chunk: bytes) -> list[Fragment]:
        self._buf += chunk
        out: list[Fragment] = []
        while True:
            box = self._next_box()
            if box is None:
                return out
            kind, data = box
            if self.init is None:
                self._pending.append(data)
                if kind == b"moov":
                    self.init = b"".join(self._pending)
                    self._pending = []
            elif kind == b"mdat":
                self._pending.append(data)
                out.append(Fragment(b"".join(self._pending), _starts_with_idr(data)))
                self._pending = []
            elif kind == b"mfra":
                continue  # trailer written at the end of a session; players do not need it
            else:
                self._pending.append(data)

    def _next_box(self) -> tuple[bytes, bytes] | None:
        if len(self._buf) < 8:
            return None
        size, kind = struct.unpack_from(">I4s", self._buf, 0)
        header = 8
        if size == 1:  # 64-bit size follows
            if len(self._buf) < 16:
                return None
            size = struct.unpack_from(">Q", self._buf, 8)[0]
            header = 16
        if size < header:
            raise ValueError(f"corrupt MP4 box {kind!r} of size {size}")
        if len(self._buf) < size:
            return None
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return kind, data


def _starts_with_idr(mdat: bytes) -> bool:
    """True if the mdat's length-prefixed (AVCC) NAL units hold an IDR slice before any other slice."""
    pos = 8
    end = len(mdat)
    while pos + 4 < end:
        n = struct.unpack_from(">I", mdat, pos)[0]
        nal_type = mdat[pos + 4] & 0x1F
        if nal_type == 5:
            return True
        if nal_type == 1:  # a non-IDR slice came first
            return False
        pos += 4 + n
    return False
