"""Files that placecount reads are regular files (issue #14).

A named pipe given as a mapping waits for ever for someone to write to it; ``/dev/zero``
never ends; a folder cannot be read as a file. Each is refused by what ``os.stat`` says,
before anything is read, with the file named and exit code 2.

>>> kind_of(0o010644)
'a named pipe (FIFO)'
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from .errors import InputError


def kind_of(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _not_a_file(path: Path, what: str, mode: int) -> InputError:
    name = path.name or str(path)
    return InputError.one(
        "not-a-file",
        f"the {what} {name!r} is {kind_of(mode)}, not a file: it cannot be read.",
        file=name,
        note="Name a file saved on disk.",
    )


def _cannot_open(path: Path, what: str, exc: OSError) -> InputError:
    name = path.name or str(path)
    if isinstance(exc, FileNotFoundError):
        return InputError.one("file-not-found", f"the {what} {name!r} does not exist.", file=name)
    return InputError.one(
        "file-not-found",
        f"the {what} {name!r} cannot be opened: {exc.strerror or exc}.",
        file=name,
    )


def regular_file(path: Path, what: str = "file") -> Path:
    """``path`` if it is a regular file (after symlinks), or an error naming it:
    ``regular_file(Path("mapping.csv"), "mapping file")``."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise _cannot_open(path, what, exc) from exc
    if not stat.S_ISREG(mode):
        raise _not_a_file(path, what, mode)
    return path


def open_regular(path: Path, what: str = "file") -> BinaryIO:
    """``path`` opened for reading in binary, if it is a regular file.

    Opened without blocking and checked on the open file (``fstat``), so a pipe swapped in
    after a check cannot make the open wait.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _cannot_open(Path(path), what, exc) from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_a_file(Path(path), what, mode)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_regular(path: Path, what: str = "file") -> bytes:
    """The bytes of ``path``, if it is a regular file."""
    with open_regular(path, what) as fh:
        return fh.read()
