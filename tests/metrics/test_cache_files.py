"""The metrics' on-disk cache (graphdiff.metrics._cache): a round trip, and a damaged file is
ignored with a warning (so the caller recomputes), never a crash."""

from __future__ import annotations

import numpy as np
import pytest

from graphdiff.metrics import _cache as C


def test_roundtrip_and_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHDIFF_CACHE", str(tmp_path))
    assert C.cache_load("kind", "absent") is None
    C.cache_save("kind", "k", a=np.arange(5), b=np.eye(2))
    got = C.cache_load("kind", "k")
    np.testing.assert_array_equal(got["a"], np.arange(5))
    np.testing.assert_array_equal(got["b"], np.eye(2))


@pytest.mark.parametrize("cut", [30, 200])
def test_a_truncated_file_is_ignored_with_a_warning(tmp_path, monkeypatch, cut):
    monkeypatch.setenv("GRAPHDIFF_CACHE", str(tmp_path))
    C.cache_save("kind", "k", a=np.arange(100))
    path = tmp_path / "kind" / "k.npz"
    path.write_bytes(path.read_bytes()[:-cut])
    with pytest.warns(UserWarning, match="ignoring unreadable cache file"):
        assert C.cache_load("kind", "k") is None


def test_garbage_is_ignored_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHDIFF_CACHE", str(tmp_path))
    (tmp_path / "kind").mkdir()
    (tmp_path / "kind" / "k.npz").write_bytes(b"not a zip file at all")
    with pytest.warns(UserWarning, match="ignoring unreadable cache file"):
        assert C.cache_load("kind", "k") is None
