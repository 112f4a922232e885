"""The sandbox's state: JSON documents in SQLite (WAL) and file contents on disk beside it.

Vendor-neutral: a document has a `kind` (``"openai.job"``, ...), an id, an insertion sequence
number (for cursor paging) and a JSON body. Several processes and threads may use one directory at
once; every call opens its own connection, and read-modify-write happens in `BEGIN IMMEDIATE`
transactions. Nothing secret is ever written here (the routes never pass request headers in).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

__all__ = ["SandboxStore", "StoreTx", "default_store_dir"]

Doc = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    doc BLOB NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS objects_by_seq ON objects (kind, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


def default_store_dir() -> Path:
    """`$TUNEOPS_HOME/sandbox`, else the platform's user data dir + ``/sandbox``."""
    from tuneops.paths import state_dir

    return state_dir() / "sandbox"


class StoreTx:
    """Operations inside one transaction (see `SandboxStore.tx`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def next_seq(self, name: str) -> int:
        row = self._c.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) "
            "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value", (name,)
        ).fetchone()
        return int(row[0])

    def get(self, kind: str, id_: str) -> Doc | None:
        row = self._c.execute("SELECT doc FROM objects WHERE kind = ? AND id = ?", (kind, id_)).fetchone()
        return None if row is None else _load(row[0])

    def insert(self, kind: str, id_: str, doc: Doc) -> None:
        seq = self.next_seq(f"seq:{kind}")
        self._c.execute("INSERT INTO objects (kind, id, seq, doc) VALUES (?, ?, ?, ?)",
                        (kind, id_, seq, orjson.dumps(doc)))

    def put(self, kind: str, id_: str, doc: Doc) -> None:
        """Replace an existing document's body (keeps its place in listings)."""
        cur = self._c.execute("UPDATE objects SET doc = ? WHERE kind = ? AND id = ?",
                              (orjson.dumps(doc), kind, id_))
        if cur.rowcount == 0:
            self.insert(kind, id_, doc)

    def delete(self, kind: str, id_: str) -> bool:
        cur = self._c.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (kind, id_))
        return cur.rowcount > 0

    def meta(self, key: str, default: Callable[[], str]) -> str:
        row = self._c.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is not None:
            return str(row[0])
        value = default()
        self._c.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))
        return value


def _load(raw: bytes | str) -> Doc:
    doc: Doc = orjson.loads(raw)
    return doc


class SandboxStore:
    """All sandbox state under `directory` (created if missing): ``state.sqlite3`` and ``blobs/``."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_store_dir()
        self.blob_dir = self.directory / "blobs"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.directory / "state.sqlite3"
        with contextlib.closing(self._connect()) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"SandboxStore({str(self.directory)!r})"

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    @contextlib.contextmanager
    def tx(self) -> Iterator[StoreTx]:
        """One write transaction: everything inside commits together or not at all."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield StoreTx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    # -- documents -----------------------------------------------------------------------------

    def get(self, kind: str, id_: str) -> Doc | None:
        with contextlib.closing(self._connect()) as conn:
            return StoreTx(conn).get(kind, id_)

    def insert(self, kind: str, id_: str, doc: Doc) -> None:
        with self.tx() as t:
            t.insert(kind, id_, doc)

    def update(self, kind: str, id_: str, change: Callable[[Doc], Doc | None]) -> Doc | None:
        """Read, change and write one document atomically. `change` returns the new body, or None
        to leave it as it is; the result is the stored body (None if there is no such document)."""
        with self.tx() as t:
            doc = t.get(kind, id_)
            if doc is None:
                return None
            new = change(doc)
            if new is not None:
                t.put(kind, id_, new)
                return new
            return doc

    def delete(self, kind: str, id_: str) -> bool:
        with self.tx() as t:
            return t.delete(kind, id_)

    def seq_of(self, kind: str, id_: str) -> int | None:
        with contextlib.closing(self._connect()) as conn:
            row = conn.execute("SELECT seq FROM objects WHERE kind = ? AND id = ?", (kind, id_)).fetchone()
        return None if row is None else int(row[0])

    def scan(self, kind: str, *, newest_first: bool = True, before_seq: int | None = None,
             after_seq: int | None = None) -> Iterator[Doc]:
        """Documents of a kind in insertion order (or reversed), optionally past a cursor."""
        sql = "SELECT doc FROM objects WHERE kind = ?"
        args: list[Any] = [kind]
        if before_seq is not None:
            sql += " AND seq < ?"
            args.append(before_seq)
        if after_seq is not None:
            sql += " AND seq > ?"
            args.append(after_seq)
        sql += " ORDER BY seq DESC" if newest_first else " ORDER BY seq ASC"
        with contextlib.closing(self._connect()) as conn:
            for (raw,) in conn.execute(sql, args):
                yield _load(raw)

    def page(self, kind: str, *, limit: int, after: str | None = None, newest_first: bool = True,
             keep: Callable[[Doc], bool] | None = None) -> tuple[list[Doc], bool] | None:
        """One page of a cursor listing: up to `limit` documents past the one with id `after`,
        and whether more follow. None when `after` names no document of this kind."""
        cursor: int | None = None
        if after is not None:
            cursor = self.seq_of(kind, after)
            if cursor is None:
                return None
        out: list[Doc] = []
        scan = self.scan(kind, newest_first=newest_first,
                         before_seq=cursor if newest_first else None,
                         after_seq=None if newest_first else cursor)
        for doc in scan:
            if keep is not None and not keep(doc):
                continue
            if len(out) == limit:
                return out, True
            out.append(doc)
        return out, False

    def meta(self, key: str, default: Callable[[], str]) -> str:
        """A value stored once per store (created by `default()` on first use)."""
        with self.tx() as t:
            return t.meta(key, default)

    def store_seed(self) -> str:
        """A random seed made when the store was first used, so ids of seedless runs differ."""
        return self.meta("seed", lambda: secrets.token_hex(8))

    # -- blobs ---------------------------------------------------------------------------------

    def blob_path(self, name: str) -> Path:
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"bad blob name {name!r}")
        return self.blob_dir / name

    def write_blob(self, name: str, chunks: Iterable[bytes]) -> int:
        """Write a blob atomically (temporary file, then rename); returns its size."""
        final = self.blob_path(name)
        tmp = final.with_name(f".{name}.{secrets.token_hex(4)}.tmp")
        size = 0
        try:
            with open(tmp, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    size += len(chunk)
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return size

    def read_blob(self, name: str) -> bytes:
        return self.blob_path(name).read_bytes()

    def iter_blob(self, name: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        with open(self.blob_path(name), "rb") as f:
            while data := f.read(chunk):
                yield data

    def delete_blob(self, name: str) -> None:
        self.blob_path(name).unlink(missing_ok=True)
