"""File helpers shared by every stage: opening inputs safely, hashing, atomic
writes."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
from pathlib import Path

from .exceptions import DataError

#: Largest input file read (data files); configs and codebooks are far smaller.
MAX_DATA_BYTES = 512 * 2**20
MAX_TEXT_CONFIG_BYTES = 2**20


def check_input(path: str | os.PathLike[str], what: str, max_bytes: int) -> int:
    """Refuse anything but a readable regular file of at most ``max_bytes``.

    A directory, a named pipe (which would block forever), a device, a symlink
    loop or a file too large is a :class:`DataError` naming it. Returns the size.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DataError(f"{path}: no such {what}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DataError(
                f"{path}: the {what} path is a loop of symbolic links"
            ) from None
        raise DataError(f"{path}: cannot open the {what}: {exc.strerror}") from None
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise DataError(f"{path}: the {what} path is a folder, not a file")
    if not stat.S_ISREG(mode):
        kind = "a named pipe" if stat.S_ISFIFO(mode) else "not a regular file"
        raise DataError(f"{path}: the {what} path is {kind}; give a regular file")
    if info.st_size > max_bytes:
        raise DataError(
            f"{path}: the {what} is {info.st_size / 2**20:,.0f} MB, more than the "
            f"{max_bytes / 2**20:,.0f} MB cpeval reads; split it or check the file"
        )
    if not os.access(path, os.R_OK):
        raise DataError(f"{path}: the {what} cannot be read (permission denied)")
    return info.st_size


def sha256(path: str | os.PathLike[str]) -> str:
    """Return the SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` to ``path`` so that readers never see a half-written file.

    The bytes go to a temporary file in the same folder, which is then renamed
    over ``path`` (``os.replace`` is atomic on POSIX and Windows).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
