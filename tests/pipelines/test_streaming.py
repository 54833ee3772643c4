"""Sampling to a file in chunks (``graphdiff.pipelines.streaming``): every finished chunk is on
disk at once, a killed run resumes to exactly the file the uninterrupted run writes, and settings
that differ from the killed run's are refused."""

from __future__ import annotations

import pytest
import torch

from graphdiff.pipelines import load_pretrained
from graphdiff.pipelines.streaming import chunk_seed, parts_dir, sample_to_file


@pytest.fixture(scope="module")
def pipe():
    return load_pretrained("qm9")


def test_the_file_is_the_chunks_sampled_with_their_own_seeds(pipe, tmp_path):
    res = sample_to_file(pipe, 7, tmp_path / "m.smi", chunk_size=3, seed=5, steps=1)
    assert (res.n, res.chunks, res.resumed_chunks) == (7, 3, 0)
    want = []
    for i, size in enumerate([3, 3, 1]):
        want += [s or "INVALID" for s in pipe.sample(size, steps=1, seed=chunk_seed(5, i), sort_sizes=True).smiles]
    assert (tmp_path / "m.smi").read_text().splitlines() == want
    assert not parts_dir(tmp_path / "m.smi").exists()  # cleaned up after the file is complete
    assert res.n_valid == sum(s != "INVALID" for s in want)


def test_a_killed_run_resumes_to_the_same_file(pipe, tmp_path, monkeypatch):
    full = sample_to_file(pipe, 10, tmp_path / "full.csv", chunk_size=3, seed=1, steps=1).path.read_text()
    calls = []
    real = type(pipe).sample

    def dies_after_two_chunks(self, n, **kw):
        if len(calls) == 2:
            raise KeyboardInterrupt  # what a kill looks like from inside: the third chunk never finishes
        calls.append(n)
        return real(self, n, **kw)

    monkeypatch.setattr(type(pipe), "sample", dies_after_two_chunks)
    out = tmp_path / "killed.csv"
    with pytest.raises(KeyboardInterrupt):
        sample_to_file(pipe, 10, out, chunk_size=3, seed=1, steps=1)
    assert not out.exists()
    assert sorted(p.name for p in parts_dir(out).glob("chunk-*")) == ["chunk-000000.safetensors", "chunk-000001.safetensors"]
    with pytest.raises(ValueError, match="--resume"):  # not silently restarted or overwritten
        sample_to_file(pipe, 10, out, chunk_size=3, seed=1, steps=1)
    monkeypatch.setattr(type(pipe), "sample", real)
    with pytest.raises(ValueError, match="other settings.*seed: 1 then, 2 now"):
        sample_to_file(pipe, 10, out, chunk_size=3, seed=2, steps=1, resume=True)
    sampled = []
    monkeypatch.setattr(type(pipe), "sample", lambda self, n, **kw: sampled.append(n) or real(self, n, **kw))
    res = sample_to_file(pipe, 10, out, chunk_size=3, seed=1, steps=1, resume=True)
    assert res.resumed_chunks == 2 and sampled == [3, 1]  # only the missing chunks
    assert out.read_text() == full


def test_bad_settings_leave_nothing_behind(pipe, tmp_path):
    out = tmp_path / "m.smi"
    with pytest.raises(ValueError, match="unknown sampler"):
        sample_to_file(pipe, 4, out, sampler="bogus")
    with pytest.raises(TypeError):
        sample_to_file(pipe, 4, out, sampler_options={"no_such_option": 1})
    for bad in (dict(n=0), dict(steps=0), dict(chunk_size=0), dict(seed=-1), dict(sampler_options={"snr": -1})):
        args = {"n": 4, **bad}
        with pytest.raises(ValueError):
            sample_to_file(pipe, args.pop("n"), out, **args)
    assert list(tmp_path.iterdir()) == []


def test_graph_model_streams_graphml(tmp_path):
    import networkx as nx

    pipe = load_pretrained("community_small")
    sample_to_file(pipe, 5, tmp_path / "g.graphml", chunk_size=2, steps=1, seed=0)
    got = list(nx.readwrite.graphml.GraphMLReader(node_type=int)(path=str(tmp_path / "g.graphml")))
    want = pipe.sample(2, steps=1, seed=chunk_seed(0, 0), sort_sizes=True).graphs
    assert len(got) == 5 and [sorted(g.edges()) for g in got[:2]] == [sorted(g.edges()) for g in want]
    assert torch.tensor([g.number_of_nodes() for g in got]).min() >= 1
