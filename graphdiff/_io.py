"""The package's one way to write a file atomically, and its one cache folder.

Every writer that must never leave a half-written file behind (checkpoints, bundled-model files,
the metrics' and properties' caches, streamed sample outputs, sampling chunks) goes through
:func:`atomic_file`: the bytes go to a temporary file *in the target's folder* (so the final
``os.replace`` is a rename on one file system, atomic on POSIX and Windows), which is flushed and
fsynced, then renamed over the target; on any exception the temporary file is removed and the
target is untouched. Temporary names are ``<name>.tmp-<random hex>`` (:data:`TMP_MARK`), so a
folder can sweep the leftovers of a killed writer with ``glob(f"*{TMP_MARK}*")``.

:func:`cache_dir` is the root of everything graphdiff caches on disk (downloaded datasets when
``GRAPHDIFF_DATA`` is unset, reference statistics of the metrics, RDKit properties), and
:func:`hash_strings` makes those caches' keys.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path
from typing import IO, Iterator, Sequence

__all__ = ["TMP_MARK", "atomic_file", "write_bytes_atomic", "fsync_dir", "cache_dir", "default_file_mode", "hash_strings"]

TMP_MARK = ".tmp-"


def cache_dir() -> Path:
    """graphdiff's cache folder: ``$GRAPHDIFF_CACHE``, else ``$XDG_CACHE_HOME/graphdiff``, else
    ``~/.cache/graphdiff``. Every on-disk cache of the package lives under it."""
    root = os.environ.get("GRAPHDIFF_CACHE")
    if root:
        return Path(root).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "graphdiff"


def hash_strings(strings: Sequence[str], *tags: str) -> str:
    """The key of a cache entry: a 32-hex-digit SHA-256 prefix of ``tags`` then ``strings`` (in
    order), so any change of input, version or setting named in a tag gives a new key."""
    h = hashlib.sha256()
    for t in tags:
        h.update(t.encode() + b"\x00")
    for s in strings:
        h.update(s.encode() + b"\n")
    return h.hexdigest()[:32]


def default_file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file (``0o666`` less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def fsync_dir(directory: str | os.PathLike) -> None:
    """Make a rename inside ``directory`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(target: str | os.PathLike, mode: str = "wb", *, sync_dir: bool = False,
                **open_kwargs) -> Iterator[IO]:
    """``with atomic_file(path) as fh: fh.write(...)``: ``path`` appears complete or not at all.

    ``mode`` is ``"wb"`` or ``"w"`` (text; ``open_kwargs`` such as ``encoding`` / ``newline`` go to
    :func:`open`). The file gets the user's usual mode (not ``mkstemp``'s 0600, which would hide a
    shared cache from other users). ``sync_dir`` also fsyncs the folder after the rename (a commit
    point that must survive a power cut, as a checkpoint's record)."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_file writes whole files: mode must be 'wb' or 'w', got {mode!r}")
    target = Path(target)
    tmp = target.with_name(f"{target.name}{TMP_MARK}{secrets.token_hex(4)}")
    if mode == "w":
        open_kwargs.setdefault("encoding", "utf-8")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), default_file_mode())
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if sync_dir:
        fsync_dir(target.parent)


def write_bytes_atomic(target: str | os.PathLike, data: bytes, *, sync_dir: bool = False) -> None:
    """Write ``data`` to ``target`` through :func:`atomic_file`."""
    with atomic_file(target, "wb", sync_dir=sync_dir) as fh:
        fh.write(data)
