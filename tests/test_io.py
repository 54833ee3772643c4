"""graphdiff._io: the one atomic writer and the one cache folder that every module uses."""

from __future__ import annotations

import os
import stat

import pytest

from graphdiff import _io
from graphdiff.data import files as data_files
from graphdiff.data import properties
from graphdiff.metrics import _cache as metrics_cache


def test_atomic_file_writes_whole_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "x.bin"
    with _io.atomic_file(target) as fh:
        fh.write(b"abc")
        assert not target.exists()  # nothing visible before the commit
    assert target.read_bytes() == b"abc"
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]


def test_atomic_file_failure_keeps_old_content(tmp_path):
    target = tmp_path / "x.txt"
    target.write_text("old\n")
    with pytest.raises(RuntimeError, match="boom"):
        with _io.atomic_file(target, "w") as fh:
            fh.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_atomic_file_text_mode_and_user_file_mode(tmp_path):
    target = tmp_path / "t.txt"
    with _io.atomic_file(target, "w") as fh:
        fh.write("héllo\n")
    assert target.read_bytes() == "héllo\n".encode("utf-8")
    if os.name == "posix":  # not mkstemp's 0600: a shared cache stays readable by its group/others
        assert stat.S_IMODE(target.stat().st_mode) == _io.default_file_mode()


def test_atomic_file_rejects_append_modes(tmp_path):
    with pytest.raises(ValueError, match="whole files"):
        with _io.atomic_file(tmp_path / "a", "ab"):
            pass


def test_one_cache_dir_for_every_module(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("GRAPHDIFF_CACHE", raising=False)
    assert _io.cache_dir() == tmp_path / "xdg" / "graphdiff"
    monkeypatch.setenv("GRAPHDIFF_CACHE", str(tmp_path / "gd"))  # takes precedence over XDG
    for f in (_io.cache_dir, data_files.cache_dir, metrics_cache.cache_dir):
        assert f() == tmp_path / "gd"
    assert properties._cache_folder() == tmp_path / "gd" / "properties"
    monkeypatch.delenv("GRAPHDIFF_DATA", raising=False)
    assert data_files.data_root() == tmp_path / "gd"


def test_the_suite_runs_with_a_private_cache():
    """conftest points GRAPHDIFF_CACHE away from the user's cache for the whole session."""
    home_cache = os.path.join(os.path.expanduser("~"), ".cache", "graphdiff")
    assert os.environ.get("GRAPHDIFF_CACHE") and os.path.abspath(os.environ["GRAPHDIFF_CACHE"]) != home_cache
