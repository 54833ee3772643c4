"""Download + verification machinery, offline: URLs are local ``file://`` paths written by the tests."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from graphdiff.data import files as F
from graphdiff.data.files import DataFile, data_root, fetch, verify
from graphdiff.errors import ChecksumError, DataNotFoundError

GOOD = b"graphdiff test payload\n" * 100
BAD = b"corrupted payload\n" * 100


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    F._VERIFIED.clear()
    yield
    F._VERIFIED.clear()


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _served(tmp_path: Path, name: str, payload: bytes) -> str:
    src = tmp_path / "server" / name
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(payload)
    return src.as_uri()


def test_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHDIFF_DATA", str(tmp_path / "env"))
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    assert data_root() == tmp_path / "env"
    monkeypatch.delenv("GRAPHDIFF_DATA")
    assert data_root() == tmp_path / "cache" / "graphdiff"


def test_download_good_file_then_cached(tmp_path):
    f = DataFile("sets/x/good.bin", _sha(GOOD), len(GOOD), url=_served(tmp_path, "good.bin", GOOD))
    root = tmp_path / "root"
    p = fetch(f, root)
    assert p == root / "sets" / "x" / "good.bin" and p.read_bytes() == GOOD
    assert not [q for q in p.parent.iterdir() if q.name.endswith(".part")]  # temp file renamed away
    # the verification is remembered: a second fetch does not re-hash
    calls = []
    orig = F.sha256_file
    F.sha256_file = lambda *a, **k: calls.append(a) or orig(*a, **k)
    try:
        assert fetch(f, root) == p
    finally:
        F.sha256_file = orig
    assert calls == []
    # ... also across processes, through the stamp file
    F._VERIFIED.clear()
    assert F._is_stamped(p, f.sha256)


def test_corrupted_download_raises_and_keeps_good_file(tmp_path):
    root = tmp_path / "root"
    good = DataFile("a/data.bin", _sha(GOOD), url=_served(tmp_path, "good.bin", GOOD))
    fetch(good, root)
    corrupted = DataFile("a/data.bin", _sha(GOOD), url=_served(tmp_path, "bad.bin", BAD))
    with pytest.raises(ChecksumError, match=_sha(BAD)):
        fetch(corrupted, root, force_download=True)
    assert (root / "a" / "data.bin").read_bytes() == GOOD
    assert sorted(q.name for q in (root / "a").iterdir()) == ["data.bin"]


def test_corrupted_download_leaves_nothing_behind(tmp_path):
    root = tmp_path / "root"
    f = DataFile("a/data.bin", _sha(GOOD), url=_served(tmp_path, "bad.bin", BAD))
    with pytest.raises(ChecksumError):
        fetch(f, root)
    assert not (root / "a" / "data.bin").exists()
    assert list((root / "a").iterdir()) == []


def test_existing_corrupted_file_is_reported_not_replaced(tmp_path):
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "data.bin").write_bytes(BAD)
    f = DataFile("a/data.bin", _sha(GOOD), url=_served(tmp_path, "good.bin", GOOD))
    with pytest.raises(ChecksumError, match="delete it"):
        fetch(f, root)
    assert (root / "a" / "data.bin").read_bytes() == BAD


def test_missing_and_unreachable_names_file_sha_and_path(tmp_path):
    root = tmp_path / "root"
    f = DataFile("mol/q/missing.csv", "ab" * 32, url=(tmp_path / "nowhere" / "missing.csv").as_uri())
    with pytest.raises(DataNotFoundError) as ei:
        fetch(f, root)
    msg = str(ei.value)
    assert "missing.csv" in msg and "ab" * 32 in msg and str(root / "mol" / "q" / "missing.csv") in msg
    assert not (root / "mol" / "q" / "missing.csv").exists()


def test_missing_without_url_or_with_downloads_off(tmp_path):
    f = DataFile("x/y.bin", _sha(GOOD), url=None, origin="ask the authors")
    with pytest.raises(DataNotFoundError, match="no public URL is known.*ask the authors"):
        fetch(f, tmp_path)
    g = DataFile("x/y.bin", _sha(GOOD), url=_served(tmp_path, "y.bin", GOOD))
    with pytest.raises(DataNotFoundError, match="download=False"):
        fetch(g, tmp_path / "r", download=False)


def test_gz_file_served_as_content_is_compressed_and_verified(tmp_path):
    content = b"smiles\nC\nCC\nCCO\n"
    stored = gzip.compress(content, mtime=0)
    f = DataFile("m/q.csv.gz", _sha(stored), url=_served(tmp_path, "q.csv", content), url_serves="content",
                 content_sha256=_sha(content))
    with pytest.raises(DataNotFoundError, match="gzip it; any gzip of content with sha256 " + _sha(content)):
        fetch(f, tmp_path / "root", download=False)
    p = fetch(f, tmp_path / "root")
    assert gzip.decompress(p.read_bytes()) == content
    F._VERIFIED.clear()
    (tmp_path / "cache").rename(tmp_path / "cache_old")  # drop stamps: verify from the content hash
    assert verify(p, f) == p
    bad = DataFile("m/q.csv.gz", _sha(stored), url=_served(tmp_path, "q2.csv", b"smiles\nN\n"), url_serves="content",
                   content_sha256=_sha(content))
    with pytest.raises(ChecksumError):
        fetch(bad, tmp_path / "root2")


def test_modified_file_is_rehashed(tmp_path):
    root = tmp_path / "root"
    f = DataFile("a/d.bin", _sha(GOOD), url=_served(tmp_path, "good.bin", GOOD))
    p = fetch(f, root)
    p.write_bytes(BAD + b"x")  # size changes -> stamp no longer matches
    with pytest.raises(ChecksumError):
        fetch(f, root)
