"""File helpers shared by every stage: opening inputs safely, hashing, atomic
writes."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


MARK = "provenance.json"  # every cpeval output folder has one


@contextmanager
def staged_folder(out: str | os.PathLike[str]) -> Iterator[Path]:
    """A fresh folder beside ``out`` to write a run into, moved into place whole.

    The run writes into ``.<name>.tmp-*`` in the same parent folder. When the
    ``with`` block ends normally, the previous ``out`` (if any) is renamed aside,
    the new folder renamed to ``out`` and the old one deleted, so ``out`` holds
    exactly one run's files. An existing ``out`` is replaced only when it is
    empty or a cpeval output folder (it holds ``provenance.json``), so that a
    mistyped ``--out`` never deletes someone's files. When the block fails (an
    error, a full disk, Ctrl-C) the new folder is deleted and ``out`` is
    untouched. A run killed
    outright (SIGKILL) leaves its ``.tmp-*`` folder, which the next run into the
    same ``out`` deletes. A lock file ``.<name>.lock`` beside ``out`` keeps two
    runs from writing into it at once: the second is refused.

    Write errors are a :class:`DataError` naming ``out``.
    """
    target = Path(out).absolute()
    if target.exists() and not target.is_dir():
        raise DataError(f"{out}: the output path is a file, not a folder")
    if target.is_dir() and any(target.iterdir()) and not (target / MARK).is_file():
        raise DataError(
            f"{out}: the folder exists and holds files that are not a cpeval run's "
            f"(no {MARK}); a run replaces its whole output folder, so give a new "
            "or empty folder"
        )
    with _writing(out, "create the output folder"):
        target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target, out):
        _recover(target)
        with _writing(out, "write the outputs"):
            stage = Path(
                tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-")
            )
        try:
            os.chmod(stage, 0o777 & ~_umask())
            with _writing(out, "write the outputs"):
                yield stage
                _swap(stage, target)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise


@contextmanager
def _writing(out: str | os.PathLike[str], what: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DataError(
            f"{out}: cannot {what}: {reason}; earlier results there are unchanged"
        ) from None


@contextmanager
def _locked(target: Path, out: str | os.PathLike[str]) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; runs are still staged
        yield
        return
    with _writing(out, "create the lock file"):
        handle = open(target.parent / f".{target.name}.lock", "a")  # noqa: SIM115
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise DataError(
                f"{out}: another cpeval run is writing to this folder; wait for it "
                "to finish or choose another --out"
            ) from None
        yield
    finally:
        handle.close()


def _leftovers(target: Path, kind: str) -> list[Path]:
    return sorted(target.parent.glob(f".{target.name}.{kind}-*"))


def _recover(target: Path) -> None:
    """Clean up after a run that was killed: a swap cut short is completed
    backwards (the previous results restored), staging folders are deleted."""
    old = _leftovers(target, "old")
    if old and not target.exists():
        os.rename(old[-1], target)
        old = old[:-1]
    for path in [*old, *_leftovers(target, "tmp")]:
        shutil.rmtree(path, ignore_errors=True)


def _swap(stage: Path, target: Path) -> None:
    aside = None
    if target.exists():
        aside = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        os.rmdir(aside)
        os.rename(target, aside)
    os.rename(stage, target)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
