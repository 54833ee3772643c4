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
    monkeypatch.delenv("GRAPHDIFF_CACHE", raising=False)  # it would take precedence over XDG_CACHE_HOME


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
    # nothing is remembered: a second fetch hashes the content again, and no stamp is written
    calls = []
    orig = F.sha256_file
    F.sha256_file = lambda *a, **k: calls.append(a) or orig(*a, **k)
    try:
        assert fetch(f, root) == p
    finally:
        F.sha256_file = orig
    assert len(calls) == 1
    assert not (tmp_path / "cache").exists()


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
    assert "mol/q/missing.csv" in msg and str(root / "mol" / "q" / "missing.csv") in msg
    assert f"curl -fL --create-dirs -o {root / 'mol' / 'q' / 'missing.csv'} {f.url}" in msg
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
    with pytest.raises(DataNotFoundError, match=r"curl -fL \S+ \| gzip -n > "):
        fetch(f, tmp_path / "root", download=False)
    p = fetch(f, tmp_path / "root")
    assert gzip.decompress(p.read_bytes()) == content
    assert verify(p, f) == p
    bad = DataFile("m/q.csv.gz", _sha(stored), url=_served(tmp_path, "q2.csv", b"smiles\nN\n"), url_serves="content",
                   content_sha256=_sha(content))
    with pytest.raises(ChecksumError):
        fetch(bad, tmp_path / "root2")


def test_modified_file_is_rehashed(tmp_path):
    root = tmp_path / "root"
    f = DataFile("a/d.bin", _sha(GOOD), url=_served(tmp_path, "good.bin", GOOD))
    p = fetch(f, root)
    p.write_bytes(BAD + b"x")
    with pytest.raises(ChecksumError):
        fetch(f, root)


def _planted_pickle(marker: Path, size: int) -> bytes:
    """A pickle of exactly ``size`` bytes whose unpickling writes ``marker`` (padded in a string)."""
    import pickle

    class Payload:
        def __init__(self, pad: str) -> None:
            self.pad = pad

        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').write('pwned')  # {self.pad}",))

    pad = 0
    while True:
        data = pickle.dumps(Payload("x" * pad), protocol=2)
        if len(data) >= size:
            break
        pad += size - len(data)
    assert len(data) == size, (len(data), size)
    return data


def test_same_size_planted_pickle_with_old_mtime_is_never_unpickled(tmp_path):
    """The issue's attack: load once (which used to leave a path/size/mtime stamp), replace the
    file by a same-size pickle whose payload writes a marker, restore the mtime, load again."""
    import os
    import pickle

    from graphdiff.data._graphs import load_verified_pickle

    good = pickle.dumps([1, 2, 3] + ["pad" * 40])
    f = DataFile("graphs/x.pkl", _sha(good), len(good), url=_served(tmp_path, "x.pkl", good))
    root = tmp_path / "root"
    assert load_verified_pickle(f, root, True) == [1, 2, 3] + ["pad" * 40]
    p = root / "graphs" / "x.pkl"
    st = p.stat()
    marker = tmp_path / "marker"
    p.write_bytes(_planted_pickle(marker, st.st_size))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert p.stat().st_size == st.st_size and p.stat().st_mtime_ns == st.st_mtime_ns
    with pytest.raises(ChecksumError):
        load_verified_pickle(f, root, False)
    with pytest.raises(ChecksumError):
        fetch(f, root, download=False)
    assert not marker.exists()
    # the payload is real: unpickled, it would have written the marker
    pickle.loads(p.read_bytes())  # noqa: S301 - the test's own file
    assert marker.read_text() == "pwned"


def test_read_verified_returns_exactly_the_hashed_bytes(tmp_path, monkeypatch):
    f = DataFile("a/d.bin", _sha(GOOD), url=_served(tmp_path, "good.bin", GOOD))
    root = tmp_path / "root"
    assert F.read_verified(f, root) == GOOD  # downloaded, then read
    (root / "a" / "d.bin").write_bytes(BAD)
    with pytest.raises(ChecksumError):
        F.read_verified(f, root)
