"""The ``graphdiff`` command line: help, datasets, models, evaluate, and its errors."""

from __future__ import annotations

import json
import re

import networkx as nx
import pytest
from typer.testing import CliRunner

from graphdiff.cli import app

runner = CliRunner()


def test_help_lists_commands():
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for cmd in ("train", "sample", "evaluate", "datasets", "models"):
        assert cmd in res.output


def test_datasets_lists_every_dataset_with_counts():
    res = runner.invoke(app, ["datasets"])
    assert res.exit_code == 0, res.output
    assert "qm9" in res.output and "120,803" in res.output and "13,082" in res.output
    assert "zinc250k" in res.output and "24,887" in res.output
    res = runner.invoke(app, ["datasets", "--json"])
    cards = json.loads(res.output)
    names = {c["name"] for c in cards}
    assert {"qm9", "zinc250k", "moses", "community_small", "ego_small", "enzymes", "grid", "planar", "sbm", "tree"} <= names


def test_models_command_runs():
    res = runner.invoke(app, ["models", "--json"])
    assert res.exit_code == 0, res.output
    cards = json.loads(res.output)
    assert isinstance(cards, list)
    table = runner.invoke(app, ["models"])
    assert table.exit_code == 0, table.output
    for card in cards:  # one row per bundled model, with its measured quality and how it was measured
        row = next(line for line in table.output.splitlines() if line.startswith(card["name"] + " "))
        assert card["measured"] in row and "network calls" in row


def test_evaluate_wrong_dataset_lists_valid_names(tmp_path):
    f = tmp_path / "x.smi"
    f.write_text("CCO\n")
    res = runner.invoke(app, ["evaluate", str(f), "--dataset", "qm10"])
    assert res.exit_code == 2
    assert "unknown dataset 'qm10'" in res.output and "qm9" in res.output


def test_evaluate_missing_file_is_a_clear_error(tmp_path):
    res = runner.invoke(app, ["evaluate", str(tmp_path / "nope.smi"), "--dataset", "qm9"])
    assert res.exit_code == 2 and "file not found" in res.output


def test_evaluate_graphs_against_community_small(tmp_path, shared_data):
    graphs = [nx.connected_watts_strogatz_graph(16, 4, 0.3, seed=i) for i in range(10)]
    f = tmp_path / "gen.json"
    f.write_text(json.dumps([nx.node_link_data(g, edges="links") for g in graphs]))
    out = tmp_path / "m.json"
    res = runner.invoke(app, ["evaluate", str(f), "--dataset", "community_small", "--json", str(out), "--root", str(shared_data)])
    assert res.exit_code == 0, res.output
    values = json.loads(out.read_text())
    assert "degree" in json.dumps(values) and "clustering" in res.output


def test_evaluate_pickle_needs_explicit_trust(tmp_path):
    f = tmp_path / "g.pkl"
    f.write_bytes(b"\x80\x04]\x94.")  # an empty list, but we must not unpickle without consent
    res = runner.invoke(app, ["evaluate", str(f), "--dataset", "community_small"])
    assert res.exit_code == 2 and "--trust-pickle" in res.output


def test_train_config_errors(tmp_path):
    res = runner.invoke(app, ["train", "--config", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 2 and "config file not found" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("family: quantum\ndataset: qm9\n")
    res = runner.invoke(app, ["train", "--config", str(bad)])
    assert res.exit_code == 2 and "unknown family 'quantum'" in res.output
    bad.write_text("dataset: qm9\nlearning_rate: 3\n")
    res = runner.invoke(app, ["train", "--config", str(bad)])
    assert res.exit_code == 2 and "unknown option" in res.output


def test_sample_unknown_model_lists_valid(tmp_path):
    res = runner.invoke(app, ["sample", "--model", "no_such_model", "-n", "2", "-o", str(tmp_path / "s.smi")])
    assert res.exit_code == 2
    assert "no_such_model" in res.output


def test_sample_unknown_precision_lists_valid(tmp_path):
    res = runner.invoke(app, ["sample", "-n", "2", "--precision", "fp8", "-o", str(tmp_path / "s.smi")])
    assert res.exit_code == 2
    assert "bfloat16" in res.output and not (tmp_path / "s.smi").exists()


def test_sample_with_a_sampler_option(tmp_path):
    out = tmp_path / "s.smi"
    res = runner.invoke(app, ["sample", "--model", "qm9_sde", "-n", "3", "--steps", "3", "--option", "temperature=0.7", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert len(out.read_text().splitlines()) >= 1
    for bad, msg in (["--option", "temperature"], "KEY=VALUE"), (["--option", "bogus=1"], "bogus"):
        res = runner.invoke(app, ["sample", "--model", "qm9_sde", "-n", "2", "--steps", "2", *bad, "-o", str(tmp_path / "b.smi")])
        assert res.exit_code == 2 and msg in res.output, res.output


def test_sample_sort_sizes_keeps_the_drawn_sizes_in_order(tmp_path):
    import json

    sizes = []
    for flag in ([], ["--sort-sizes"]):
        out = tmp_path / f"g{len(flag)}.json"
        res = runner.invoke(app, ["sample", "--model", "community_small_sde", "-n", "5", "--steps", "2", *flag, "-o", str(out)])
        assert res.exit_code == 0, res.output
        sizes.append([len(g["nodes"]) for g in json.loads(out.read_text())])
    assert sizes[0] == sizes[1] and len(set(sizes[0])) > 1


def test_sample_with_a_budget_of_network_calls(tmp_path):
    out = tmp_path / "s.smi"
    res = runner.invoke(app, ["sample", "--model", "qm9_ctmc", "-n", "2", "--nfe", "7", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "7 network calls per graph" in res.output  # the card's predictor-corrector sampler: 3 steps x 3 calls - 2
    res = runner.invoke(app, ["sample", "--model", "qm9_ctmc", "-n", "2", "--nfe", "7", "--steps", "3", "-o", str(out)])
    assert res.exit_code == 2 and "steps or nfe" in res.output


def test_nproc_below_one_is_refused(tmp_path):
    """``--nproc 0`` used to run one process without a word; both commands refuse it up front."""
    res = runner.invoke(app, ["sample", "-n", "2", "--nproc", "0", "-o", str(tmp_path / "s.smi")])
    assert res.exit_code != 0 and "nproc" in res.output and not (tmp_path / "s.smi").exists()
    cfg = tmp_path / "c.yaml"
    cfg.write_text("dataset: community_small\nfamily: discrete\n")
    res = runner.invoke(app, ["train", "--config", str(cfg), "--nproc", "0"])
    assert res.exit_code != 0 and "nproc" in res.output


def test_train_max_minutes_stops_saves_and_records_the_stop(tmp_path):
    """``--max-minutes`` ends a long run at the first step past the budget, still saving the model,
    and the card says the run was cut short (and how many steps were planned)."""
    import yaml

    gfile = tmp_path / "graphs.json"
    graphs = [nx.cycle_graph(n) for n in range(4, 10)] + [nx.path_graph(n) for n in range(4, 10)]
    gfile.write_text(json.dumps([nx.node_link_data(g, edges="links") for g in graphs]))
    cfg = tmp_path / "run.yaml"
    cfg.write_text(yaml.safe_dump({
        "graphs_file": str(gfile), "family": "discrete", "out": str(tmp_path / "run"), "progress": False,
        "network": {"hidden": 16, "edge_hidden": 8, "global_hidden": 8, "depth": 1, "heads": 2, "time_dim": 16, "K": 4},
        "train": {"steps": 1_000_000, "batch_size": 4, "checkpoint_every": 10**7},
    }))
    res = runner.invoke(app, ["train", "--config", str(cfg), "--max-minutes", "0.005"])
    assert res.exit_code == 0, res.output
    assert "stopped by the max_minutes budget (planned 1000000)" in res.output
    card = json.loads((tmp_path / "run" / "model" / "config.json").read_text())["card"]
    training = card["training"]
    assert 0 < training["steps"] < 1_000_000 and training["planned_steps"] == 1_000_000
    assert training["stopped_by"] == "max_seconds" and training["max_minutes"] == 0.005
    res = runner.invoke(app, ["train", "--config", str(cfg), "--max-minutes", "0", "--nproc", "2"])
    assert res.exit_code != 0 and "max_minutes must be a positive number" in res.output  # refused before spawning


# --------------------------------------------------------------------------- failures: one line, exit 2
def _one_error_line(res) -> str:
    """The CLI failed the way every failure must: exit 2, one ``error:`` line, no traceback."""
    assert res.exit_code == 2, (res.exit_code, res.output)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output and "internal error" not in res.output, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip() and not ln.startswith("sampling")]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    return lines[0]


@pytest.mark.parametrize("args, match", [
    (["sample", "-n", "0"], "-n must be >= 1"),
    (["sample", "-n", "-1"], "-n must be >= 1"),
    (["sample", "-n", "abc"], "Invalid value for '-n'"),
    (["sample", "--sampler", "bogus", "-n", "2"], "unknown sampler 'bogus'"),
    (["sample", "--steps", "0", "-n", "2"], "--steps must be >= 1"),
    (["sample", "--nfe", "0", "-n", "2"], "nfe must be >= 1"),
    (["sample", "--option", "snr=-1", "-n", "2"], "snr must be > 0"),
    (["sample", "--option", "corrector_steps=-1", "-n", "2"], "corrector_steps must be >= 0"),
    (["sample", "--device", "cuda", "-n", "2"], "CUDA is not available"),
    (["sample", "-m", "no_such_model", "-n", "2"], "unknown pretrained model"),
    (["sample", "-n", "2", "-o", "/proc/x/out.smi"], "cannot write to /proc/x"),
    (["sample", "-n", "2", "-o", "{tmp}/x.json"], r"molecule model writes \.smi, \.csv, \.sdf"),
    (["sample", "-m", "community_small", "-n", "2", "-o", "{tmp}/x.smi"], r"graph model"),
    (["evaluate", "{tmp}", "--dataset", "qm9"], "is a folder"),
    (["evaluate", "{tmp}/latin1.smi", "--dataset", "qm9"], "UTF-8"),
    (["evaluate", "{tmp}/trunc.json", "--dataset", "community_small"], "not valid JSON"),
    (["evaluate", "{tmp}/ok.smi", "--dataset", "qm9", "--root", "{tmp}/nonexistent"], "does not exist"),
    (["evaluate", "{tmp}/directed.json", "--dataset", "community_small"], "directed"),
    (["evaluate", "{tmp}/ok.smi", "--dataset", "qm9", "--json", "/proc/x/r.json"], "cannot write to /proc/x"),
    (["evaluate", "{tmp}/ok.json", "--dataset", "community_small", "--protocol", "foo"], "protocol"),
    (["evaluate", "{tmp}/ok.json", "--dataset", "community_small", "--validity", "foo"], "validity"),
    (["train", "--config", "{tmp}/nope.yaml"], "config file not found"),
    (["nosuchverb"], "No such command"),
])
def test_cli_failures_are_one_error_line(tmp_path, args, match):
    (tmp_path / "latin1.smi").write_bytes("CCO caf\xe9\n".encode("latin-1"))
    (tmp_path / "trunc.json").write_text('[{"directed": false, "nodes": [')
    (tmp_path / "directed.json").write_text(json.dumps([nx.node_link_data(nx.DiGraph([(0, 1)]), edges="links")]))
    (tmp_path / "ok.smi").write_text("CCO\n")
    (tmp_path / "ok.json").write_text(json.dumps([nx.node_link_data(nx.cycle_graph(5), edges="links")]))
    res = runner.invoke(app, [a.replace("{tmp}", str(tmp_path)) for a in args])
    line = _one_error_line(res)
    assert re.search(match, line), line
    assert not (tmp_path / "nonexistent").exists()


def test_sample_writes_by_suffix_and_resumes(tmp_path):
    out = tmp_path / "m.sdf"
    res = runner.invoke(app, ["sample", "-n", "5", "--steps", "1", "--chunk-size", "2", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text().count("$$$$") == 5 and "wrote" in res.output
    parts = tmp_path / "m.sdf.parts"
    parts.mkdir()
    (parts / "manifest.json").write_text("{}")
    line = _one_error_line(runner.invoke(app, ["sample", "-n", "5", "--steps", "1", "-o", str(out)]))
    assert "--resume" in line


def test_a_bundled_name_wins_over_a_local_folder_of_that_name(tmp_path, monkeypatch):
    """``qm9`` is always the bundled model; the local folder is loaded when written as a path."""
    from graphdiff.pipelines import load_pretrained
    from graphdiff.pipelines.pretrained import PRETRAINED_DIR, resolve

    load_pretrained("community_small").save_pretrained(tmp_path / "qm9")
    monkeypatch.chdir(tmp_path)
    assert resolve("qm9").parent == PRETRAINED_DIR and load_pretrained("qm9").vocabulary is not None
    assert resolve("./qm9").resolve() == (tmp_path / "qm9").resolve() and load_pretrained("./qm9").vocabulary is None
    load_pretrained("community_small").save_pretrained(tmp_path / "mine")
    assert resolve("mine").resolve() == (tmp_path / "mine").resolve()  # a bare name that is not bundled is a folder
    with pytest.raises(ValueError, match=r"unknown pretrained model .*'./nothere'"):
        resolve("./nothere")


def _offline(monkeypatch, tmp_path):
    """An empty default data folder and no network: every dataset file is missing."""
    import urllib.error

    import graphdiff.data.files as files

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("offline (test)")

    monkeypatch.setattr(files.urllib.request, "urlopen", no_network)
    monkeypatch.setenv("GRAPHDIFF_DATA", str(tmp_path / "empty"))


def test_evaluate_without_reference_data_falls_back(tmp_path, monkeypatch):
    _offline(monkeypatch, tmp_path)
    f = tmp_path / "gen.smi"
    f.write_text("CCO\nOCC\nc1ccccc1\nnot_a_smiles\n")
    out = tmp_path / "m.json"
    res = runner.invoke(app, ["evaluate", str(f), "--dataset", "qm9", "--json", str(out)])
    assert res.exit_code == 0, res.output
    notes = [line for line in res.output.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "validity and uniqueness only" in notes[0] and "curl -fL" in notes[0]
    values = json.loads(out.read_text())["values"]
    assert values == {"validity": 0.75, "uniqueness": pytest.approx(2 / 3)}
    g = tmp_path / "gen.json"
    g.write_text(json.dumps([nx.node_link_data(nx.path_graph(5), edges="links")] * 2))
    res = runner.invoke(app, ["evaluate", str(g), "--dataset", "community_small", "--validity", "tree"])
    assert res.exit_code == 0, res.output
    assert re.search(r"valid\s+1\.0000", res.output) and re.search(r"unique\s+0\.5000", res.output)
    # a data root the user named is not second-guessed: missing files there stay an error
    (tmp_path / "named").mkdir()
    res = runner.invoke(app, ["evaluate", str(f), "--dataset", "qm9", "--root", str(tmp_path / "named")])
    assert res.exit_code == 2 and "error:" in res.output and "curl -fL" in res.output


def test_evaluate_suite_names_are_checked(tmp_path):
    f = tmp_path / "gen.smi"
    f.write_text("CCO\n")
    res = runner.invoke(app, ["evaluate", str(f), "--dataset", "qm9", "--suite", "mose"])
    assert res.exit_code == 2 and "valid: gdss, moses, guacamol" in res.output
    g = tmp_path / "gen.json"
    g.write_text("[]")
    res = runner.invoke(app, ["evaluate", str(g), "--dataset", "community_small", "--suite", "moses"])
    assert res.exit_code == 2 and "molecule datasets" in res.output


def test_small_sample_warnings():
    from graphdiff.cli import _small_sample_warnings
    from graphdiff.metrics.molecules import molecule_metrics

    res = molecule_metrics(["CCO", "CCN", "c1ccccc1"], test_smiles=["CCO", "CCC", "CCN"], metrics=("validity", "fcd"), cache=False)
    lines = _small_sample_warnings(res, "gdss", "zinc250k")
    assert len(lines) == 1 and "fcd from 3 samples" in lines[0] and "10,000" in lines[0] and "1.48" in lines[0]
    assert _small_sample_warnings(res, "moses", "qm9")[0].count("30,000") == 1


def test_diverging_training_is_one_error_line(tmp_path):
    import yaml

    toy = tmp_path / "toy.json"
    toy.write_text(json.dumps([nx.node_link_data(g, edges="links") for g in [nx.cycle_graph(4), nx.path_graph(5)] * 2]))
    cfg = {"graphs_file": str(toy), "family": "continuous", "out": str(tmp_path / "run"), "progress": False,
           "network": {"hidden": 8, "edge_hidden": 8, "global_hidden": 8, "depth": 1, "heads": 2, "time_dim": 8, "K": 2},
           "train": {"steps": 20, "batch_size": 2, "lr": 1e12, "warmup_steps": 0}}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    line = _one_error_line(runner.invoke(app, ["train", "-c", str(tmp_path / "cfg.yaml")]))
    assert "diverged" in line


def test_an_unknown_device_is_refused_before_anything_reads_it():
    """Found by the CLI fuzz test: --device bogus reached torch through the auto precision."""
    for args in (["sample", "-n", "1", "--device", "bogus"], ["sample", "-n", "1", "--device", "bogus", "--precision", "auto"]):
        assert "unknown device 'bogus'" in _one_error_line(runner.invoke(app, args))
