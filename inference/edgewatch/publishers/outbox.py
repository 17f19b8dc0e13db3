"""Durable event queue: an event is on disk before it goes to the broker and leaves only once acknowledged.

One SQLite file per camera. It survives a killed worker or a broker that is away at the end of a run;
the next run's publisher sends what is left first. `seq` keeps growing across runs sharing the file.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..errors import EdgewatchError
from .payloads import encode

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    id: str
    payload: bytes  # encoded JSON, `seq` included


def default_path(camera: str) -> Path:
    return Path.home() / ".local" / "state" / "edgewatch" / f"outbox-{camera}.sqlite"


class Outbox:
    """Thread-safe; every method is one short transaction."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # check_same_thread off: the lead may close() from another thread; our lock serialises use.
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=5.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed event survives a power cut, not only a killed process.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise EdgewatchError(f"mqtt.outbox: cannot open {self.path}: {err}") from None
        self._lock = threading.Lock()

    def add(self, payloads: list[dict[str, Any]]) -> list[OutboxRow]:
        """Store events (each with an "id"), numbering them; returns the stored rows in order."""
        if not payloads:
            return []
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                row = cur.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
                last = row[0] if row else 0
                out: list[OutboxRow] = []
                for i, p in enumerate(payloads, start=1):
                    seq = last + i
                    data = encode({"id": p["id"], "seq": seq, **{k: v for k, v in p.items() if k not in ("id", "seq")}})
                    out.append(OutboxRow(seq, str(p["id"]), data))
                cur.executemany("INSERT INTO events (seq, id, payload) VALUES (?, ?, ?)", [(r.seq, r.id, r.payload) for r in out])
                cur.execute(
                    "INSERT INTO meta (key, value) VALUES ('last_seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (out[-1].seq,),
                )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            return out

    def pending(self) -> list[OutboxRow]:
        with self._lock:
            rows = self._db.execute("SELECT seq, id, payload FROM events ORDER BY seq").fetchall()
        return [OutboxRow(int(s), str(i), bytes(p)) for s, i, p in rows]

    def remove(self, seqs: Iterable[int]) -> None:
        batch = [(int(s),) for s in seqs]
        if not batch:
            return
        with self._lock:
            # no fsync for deletes: a delete lost in a power cut only means a duplicate, never a loss
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM events WHERE seq = ?", batch)
            self._db.execute("COMMIT")
            self._db.execute("PRAGMA synchronous=FULL")

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

