"""Every output pezo writes goes through this module: one rule for files and report folders.

* **Checked before the work starts.** :func:`check_file` and :func:`check_dir` reject, in one
  line, a destination that is a directory where a file is meant (or the reverse), whose parent
  is a file, that needs more than its last directory level created, or where a file cannot be
  created (a read-only or virtual file system such as /proc or /sys): they create and delete a
  probe file, which is the only test that sees all of those. pezo's own default destinations
  under ``out/`` are created as needed (``parents=True``).
* **Written atomically, with the umask's permissions.** :func:`write_atomic` writes a temporary
  sibling and renames it over the destination; :func:`staged_dir` builds a whole report folder in
  a temporary sibling and swaps it in only when complete, so an interrupted or failed run leaves
  the previous complete result, and no file of an earlier run survives beside a new one.
  ``tempfile`` creates files 0600 and folders 0700; both are set to what the umask allows.
* **One writer per destination.** :func:`locked` holds a lock file (``filelock``) beside the
  destination for the whole run; a second run into it stops at once with one line.
* **Errors are one line.** A failing write (full disk, permissions) raises
  :class:`~pezo.errors.PezoError` naming the file; the previous file is untouched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import PezoError

__all__ = ["check_dir", "check_file", "locked", "staged_dir", "write_atomic"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _probe(directory: Path, dest: Path) -> None:
    """Create and delete a file in ``directory``: what writing ``dest`` will need."""
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".pezo-probe.")
    except OSError as exc:
        raise PezoError(f"cannot write {dest}: cannot create files in {directory} ({_why(exc)})") from None
    os.close(fd)
    os.unlink(tmp)


def _check_parent(dest: Path, parents: bool) -> None:
    """``dest``'s parent must be a writable directory, or be creatable: its own parent exists
    (or ``parents``, then the nearest existing ancestor must be a writable directory)."""
    parent = dest.parent
    if parent.is_dir():
        _probe(parent, dest)
        return
    if parent.exists():
        raise PezoError(f"cannot write {dest}: {parent} is a file, not a directory")
    ancestor = parent.parent
    if not parents:
        if not ancestor.is_dir():
            raise PezoError(f"cannot write {dest}: {ancestor} does not exist (pezo creates only the "
                            f"last directory level, {parent.name}/)")
    else:
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise PezoError(f"cannot write {dest}: {ancestor} is a file, not a directory")
    _probe(ancestor, dest)


def check_file(path: Path | str, *, parents: bool = False) -> Path:
    """Check before any work that the file ``path`` can be written (see the module docstring)."""
    path = Path(path)
    if path.is_dir():
        raise PezoError(f"cannot write {path}: it is a directory (give a file name)")
    _check_parent(path, parents)
    return path


def check_dir(path: Path | str, *, parents: bool = False) -> Path:
    """Check before any work that the report folder ``path`` can be written or replaced."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise PezoError(f"cannot write into {path}: it is a file, not a directory")
    if path.is_dir():
        _probe(path, path)
    _check_parent(path, parents)
    return path


def _mkdir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PezoError(f"cannot create {path}: {_why(exc)}") from None


def write_atomic(path: Path | str, data: str | bytes) -> None:
    """Write ``data`` via a temp file in the same folder + rename, so a reader (or a failed or
    interrupted run) sees either the old complete file or the new complete one. The file gets
    the umask's permissions; a failure is one line naming the file."""
    path = Path(path)
    _mkdir(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise PezoError(f"cannot write {path}: {_why(exc)}") from None
    try:
        with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise PezoError(f"cannot write {path}: {_why(exc)}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def staged_dir(final: Path | str) -> Iterator[Path]:
    """Yield a fresh temporary sibling of ``final`` to fill; on success it replaces ``final``
    (the old folder is moved aside and deleted only after the new one is in place). On any
    failure or interrupt the temporary folder is deleted and ``final`` is as it was."""
    final = Path(final)
    _mkdir(final.parent)
    try:
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".new"))
        os.chmod(tmp, 0o777 & ~_umask())
    except OSError as exc:
        raise PezoError(f"cannot write into {final.parent}: {_why(exc)}") from None
    try:
        yield tmp
        old = final.with_name(f".{final.name}.{os.getpid()}.old")
        try:
            if final.exists():
                os.replace(final, old)
            os.replace(tmp, final)
        except OSError as exc:
            if old.exists() and not final.exists():
                os.replace(old, final)
            raise PezoError(f"cannot replace {final}: {_why(exc)}") from None
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def locked(dest: Path | str) -> Iterator[None]:
    """Hold ``.<name>.lock`` beside ``dest`` for the run; if another pezo run holds it, stop
    with one line (the lock file stays, empty: it is the lock, not a result)."""
    from filelock import FileLock, Timeout

    dest = Path(dest)
    _mkdir(dest.parent)
    lock = FileLock(dest.parent / f".{dest.name}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise PezoError(f"another pezo run is writing {dest} (lock {lock.lock_file}); wait for it to "
                        "finish or choose another destination") from None
    except OSError as exc:
        raise PezoError(f"cannot lock {dest}: {_why(exc)}") from None
    try:
        yield
    finally:
        lock.release()
