"""Where dataset files live, and how they are fetched and verified.

Location of the data root (first that applies):

1. the ``root=`` argument of :func:`graphdiff.data.load`;
2. the environment variable ``GRAPHDIFF_DATA``;
3. the cache folder (:func:`graphdiff._io.cache_dir`): ``$GRAPHDIFF_CACHE``, else ``$XDG_CACHE_HOME/graphdiff``
   (default ``~/.cache/graphdiff``), the same folder as the metrics' and properties' caches.

Under the root, files keep the layout of the benchmark data folder, e.g.
``molecules/qm9/valid_idx_qm9.json`` or ``graphs/gdss/grid.pkl``. A missing file is downloaded from
its card's URL (``urllib``) into a temporary file in the same folder, its sha256 is checked, and only
then is it renamed into place (atomic), so a failed or corrupted download never replaces a good file.
Every file is verified against the sha256 on its card by its content, every time it is loaded:
nothing is remembered between loads (a stamp keyed on path, size and modification time could be
forged, or fooled by a same-size replacement with its old mtime). Files that will be unpickled go
further: :func:`read_verified` reads the bytes once, hashes those bytes and hands the same bytes to
the caller, so the file cannot be swapped between the check and the read. Hashing costs about 2 ms
per MB; the largest benchmark file is 13 MB.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .._io import cache_dir  # re-exported: $GRAPHDIFF_CACHE, else $XDG_CACHE_HOME/graphdiff
from ..errors import ChecksumError, DataNotFoundError

__all__ = ["DataFile", "data_root", "cache_dir", "fetch", "verify", "read_verified", "sha256_file"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset.

    Attributes:
        path: path relative to the data root, ``/``-separated (e.g. ``"molecules/qm9/valid_idx_qm9.json"``).
        sha256: sha256 of the file exactly as stored under the root.
        size: size in bytes as stored (informational).
        url: public URL to download it from, or ``None`` when no public URL is known.
        url_serves: ``"file"`` when the URL serves the stored bytes; ``"content"`` when it serves the
            uncompressed content of a ``.gz`` file, which is then gzip-compressed locally.
        content_sha256: for ``.gz`` files, the sha256 of the uncompressed content. A ``.gz`` file whose
            bytes differ from ``sha256`` (another gzip implementation) is accepted when its content
            matches this.
        origin: where the file comes from, in words (repository, commit, path); printed when it is missing.
    """

    path: str
    sha256: str
    size: int | None = None
    url: str | None = None
    url_serves: str = "file"
    content_sha256: str | None = None
    origin: str = ""

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("path", "sha256", "size", "url", "url_serves", "content_sha256", "origin")}


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root`` if given, else ``$GRAPHDIFF_DATA``, else :func:`cache_dir`."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("GRAPHDIFF_DATA")
    if env:
        return Path(env).expanduser()
    return cache_dir()


def sha256_file(path: str | os.PathLike, *, gunzip: bool = False) -> str:
    """Hex sha256 of a file (of its decompressed content when ``gunzip``)."""
    h = hashlib.sha256()
    opener = gzip.open if gunzip else open
    with opener(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _matches(path: Path, f: DataFile) -> tuple[bool, str]:
    """(ok, actual sha256 of the stored bytes)."""
    actual = sha256_file(path)
    if actual == f.sha256:
        return True, actual
    if f.content_sha256 is not None and f.path.endswith(".gz"):
        try:
            if sha256_file(path, gunzip=True) == f.content_sha256:
                return True, actual
        except (OSError, EOFError, gzip.BadGzipFile):
            pass
    return False, actual


def _mismatch(p: Path, f: DataFile, actual: str) -> ChecksumError:
    return ChecksumError(
        f"{p} has sha256 {actual}, but the dataset card expects {f.sha256}"
        + (f" (or uncompressed content {f.content_sha256})" if f.content_sha256 else "")
        + ". The file is corrupted or a different version; delete it to download it again"
        + (f" from {f.url}" if f.url else "") + "."
    )


def verify(path: str | os.PathLike, f: DataFile) -> Path:
    """Check ``path`` against the card entry ``f``; raise :class:`ChecksumError` on mismatch.

    The file is left untouched either way, and its content is hashed on every call (nothing is
    cached: see the module docstring)."""
    p = Path(path)
    ok, actual = _matches(p, f)
    if not ok:
        raise _mismatch(p, f, actual)
    return p


def read_verified(f: DataFile, root: str | os.PathLike | None = None, *, download: bool = True) -> bytes:
    """The bytes of ``f`` (fetched as by :func:`fetch`), read once and checked against the card's
    sha256 before they are returned: use this for files that will be unpickled, so what is
    unpickled is exactly what was hashed (a file replaced after the check is never read)."""
    path = data_root(root) / f.path
    if not path.exists():
        path = fetch(f, root, download=download)
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != f.sha256:
        raise _mismatch(path, f, actual)
    return data


def _missing_message(f: DataFile, target: Path, reason: str) -> str:
    """What is missing, where to put it, one command that fetches it (sha256 and origin are in the
    dataset card, ``graphdiff datasets --json``)."""
    if f.url is None:
        how = "no public URL is known" + (f"; origin: {f.origin}" if f.origin else "")
    elif f.url_serves == "content":
        how = f"fetch: mkdir -p {target.parent} && curl -fL {f.url} | gzip -n > {target}"
    else:
        how = f"fetch: curl -fL --create-dirs -o {target} {f.url}"
    return f"dataset file {f.path} is missing ({reason}); put it at {target} ({how}) or set GRAPHDIFF_DATA to a folder holding it."


def fetch(
    f: DataFile,
    root: str | os.PathLike | None = None,
    *,
    download: bool = True,
    force_download: bool = False,
    timeout: float = 60.0,
) -> Path:
    """Return the verified local path of ``f`` under the data root, downloading it if missing.

    Raises:
        DataNotFoundError: the file is missing and cannot be downloaded (no URL, ``download=False``,
            network error); the message names the file, its sha256 and the path to put it at.
        ChecksumError: the existing or downloaded file does not match the card. A downloaded file
            that fails the check is deleted; an existing file is never overwritten by a bad download.
    """
    target = data_root(root) / f.path
    if target.exists() and not force_download:
        return verify(target, f)
    if not download:
        raise DataNotFoundError(_missing_message(f, target, "downloads are disabled (download=False)"))
    if f.url is None:
        raise DataNotFoundError(_missing_message(f, target, "not found and the card has no download URL"))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{f.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise DataNotFoundError(_missing_message(f, target, f"cannot write to {target.parent} ({exc})")) from exc
    tmp = Path(tmp_name)
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(f.url, timeout=timeout) as resp:
                shutil.copyfileobj(resp, out, _CHUNK)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DataNotFoundError(_missing_message(f, target, f"download failed: {exc}")) from exc
        if f.url_serves == "content":
            got = sha256_file(tmp)
            if got != f.content_sha256:
                raise ChecksumError(f"download from {f.url} has sha256 {got}, expected content sha256 {f.content_sha256}; nothing was written to {target}")
            gz = tmp.with_suffix(".gz.part")
            with open(tmp, "rb") as src, open(gz, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
            os.replace(gz, tmp)
        else:
            got = sha256_file(tmp)
            if got != f.sha256:
                raise ChecksumError(f"download from {f.url} has sha256 {got}, expected {f.sha256}; nothing was written to {target}")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
        gzp = tmp.with_suffix(".gz.part")
        if gzp.exists():
            gzp.unlink()
    return target
