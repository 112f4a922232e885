"""Writing an output file so that it is either whole or absent.

`atomic_writer(dst)` writes to a hidden temporary file beside `dst` (same file system, so the
rename is atomic), fsyncs it, renames it over `dst` and fsyncs the directory. On any failure,
Ctrl-C or SIGTERM included (the CLI turns SIGTERM into an exception), the temporary file is
removed and `dst` is left as it was. The temporary file's name is chosen before it is created, so
a signal arriving between its creation and the start of the clean-up still finds it. It is
created with mode 0666 less the umask, as the final file would be by `open()`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from typing import IO

from tuneops.errors import DatasetIOError

__all__ = ["atomic_writer"]


def _fsync_dir(path: str) -> None:
    # makes the rename itself durable; not possible on every platform / filesystem
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_writer(dst: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """A binary file to write `dst`'s new content to; it replaces `dst` when the block ends
    without an exception. Write failures are `DatasetIOError`s naming `dst`."""
    dst_s = os.fspath(dst)
    if os.path.isdir(dst_s):
        raise DatasetIOError(f"{dst_s}: is a directory", hint="give the path of the output file")
    directory = os.path.dirname(os.path.abspath(dst_s)) or "."
    tmp = os.path.join(directory, f".{os.path.basename(dst_s)}.{secrets.token_hex(4)}.tmp")
    open_failed = False
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
        except OSError as exc:
            open_failed = True  # nothing of ours to remove (EEXIST: the name is someone else's)
            raise DatasetIOError(f"{dst_s}: cannot write there: {exc.strerror}",
                                 hint="check that the directory exists and is writable") from exc
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dst_s)
    except BaseException as exc:
        if not open_failed:  # also when a signal came before the file was made: then it is absent
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError):
            raise DatasetIOError(f"{dst_s}: cannot be written: {exc.strerror or exc}",
                                 hint="free space or raise the file-size limit; nothing was"
                                 " written") from exc
        raise
    _fsync_dir(directory)
