"""The command line as a hostile or careless user meets it: generated invocations of every verb
with bad paths, names and numbers, run in-process with typer's test runner. Each must end with
exit code 0, or exit code 2 and exactly one ``error:`` line: never a traceback, never an
"internal error", never another exit code. Outcomes are tallied per verb (``cli.<verb>``) as
``result`` or ``typed:clear_error``; anything else fails the test and is tallied ``UNEXPLAINED``.

Costly successes are kept tiny: ``-n`` / ``--steps`` / training steps that would be valid are
small, downloads are blocked (the data root for molecules is empty, so a reference set is a
clear "missing" error, not a network call), and graph references use the small community_small /
ego_small sets when the benchmark data is present."""

from __future__ import annotations

import json
import os
import re
import urllib.error
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from graphdiff.cli import app

from ._harness import SKIPS, TALLY, UnexplainedError, fuzz_settings

runner = CliRunner()

# numbers as a user types them: valid small ones, zero, negative, fractions, words, huge, empty
_BAD_NUMBERS = ["0", "-1", "-5", "2.7", "abc", "", "nan", "inf", "1e9", "99999999999999999999", "0x10", " 1", "1_0"]
_NAMES = ["qm9", "qm9_ctmc", "qm9_sde", "community_small", "ego_small_sde", "zinc250k", "bogus", "", "QM9", "../qm9",
          "./qm9", "-", "--", "qm9 ", "\u00e9", "none", "null", "community_small_sde/.."]
_TINY_NET = {"hidden": 8, "edge_hidden": 8, "global_hidden": 8, "depth": 1, "heads": 2, "time_dim": 8, "K": 2}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A workspace of files a user might pass: good, bad, odd."""
    d = tmp_path_factory.mktemp("cli_fuzz")
    (d / "folder").mkdir()
    (d / "empty_root").mkdir()
    (d / "ok.smi").write_text("CCO\nc1ccccc1\nCC(=O)O\n")
    (d / "blank_lines.smi").write_text("CCO\n\n\nCCN\n")
    (d / "csv_in.smi").write_text("smiles,name\nCCO,ethanol\nCCN,ethylamine\n")
    (d / "bom.smi").write_bytes("\ufeffsmiles\nCCO\n".encode("utf-8"))
    (d / "latin1.smi").write_bytes("CCO caf\xe9\n".encode("latin-1"))
    (d / "binary.smi").write_bytes(bytes(range(256)))
    (d / "empty.smi").write_text("")
    (d / "ok.json").write_text(json.dumps([nx.node_link_data(nx.cycle_graph(n), edges="links") for n in (5, 6, 7)]))
    (d / "trunc.json").write_text('[{"directed": false, "nodes": [')
    (d / "directed.json").write_text(json.dumps([nx.node_link_data(nx.DiGraph([(0, 1), (1, 2)]), edges="links")]))
    (d / "dict.json").write_text('{"a": 1}')
    (d / "junk.json").write_text("[1, 2, 3]")
    (d / "graphs.pkl").write_bytes(b"\x80\x04K\x01.")
    (d / "graphs_train.json").write_text(json.dumps([nx.node_link_data(g, edges="links") for g in
                                                     [nx.cycle_graph(4), nx.path_graph(5), nx.star_graph(4), nx.cycle_graph(6)]]))
    (d / "config_bad_yaml.yaml").write_text("a: [1, 2\n")
    (d / "config_list.yaml").write_text("- 1\n- 2\n")
    data = d / "data"
    shared = os.environ.get("GRAPHDIFF_DATA")
    data.mkdir()
    if shared and (Path(shared) / "graphs").is_dir():
        (data / "graphs").symlink_to(Path(shared) / "graphs")  # graph references only: molecules are "missing"
    return d


@pytest.fixture(autouse=True)
def _offline(monkeypatch, ws):
    def no_network(*a, **k):
        raise urllib.error.URLError("network disabled in the CLI fuzz test")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    monkeypatch.setenv("GRAPHDIFF_DATA", str(ws / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(ws / "cache"))
    monkeypatch.delenv("GRAPHDIFF_CACHE", raising=False)  # it would take precedence over XDG_CACHE_HOME
    monkeypatch.delenv("GRAPHDIFF_DEBUG", raising=False)


def _path(ws: Path, name: str) -> str:
    return name.replace("{ws}", str(ws))


_IN_PATHS = ["{ws}/ok.smi", "{ws}/blank_lines.smi", "{ws}/csv_in.smi", "{ws}/bom.smi", "{ws}/latin1.smi", "{ws}/binary.smi",
             "{ws}/empty.smi", "{ws}/ok.json", "{ws}/trunc.json", "{ws}/directed.json", "{ws}/dict.json", "{ws}/junk.json",
             "{ws}/graphs.pkl", "{ws}/folder", "{ws}/nope.smi", "", "/proc/x/in.smi", "{ws}/ok.smi/x"]
_OUT_PATHS = ["{ws}/out/a.smi", "{ws}/out/a.csv", "{ws}/out/a.sdf", "{ws}/out/a.json", "{ws}/out/a.graphml", "{ws}/out/a.pt",
              "{ws}/out/a.txt", "{ws}/out/a", "{ws}/folder", "/proc/x/out.smi", "{ws}/ok.smi/x.smi", "", "{ws}/out/a.SMI"]


def _invoke(verb: str, args: list[str]) -> None:
    res = runner.invoke(app, args)
    out = res.output or ""
    lines = [ln for ln in out.splitlines() if ln.startswith("error:")]
    if res.exit_code == 0 and res.exception is None:
        TALLY[f"cli.{verb}"]["result"] += 1
        m = re.search(r"skipped (\d+) blank line", out)
        SKIPS[f"cli.{verb}"] += int(m.group(1)) if m else 0
        return
    clear = (res.exit_code == 2 and (res.exception is None or isinstance(res.exception, SystemExit))
             and len(lines) == 1 and "Traceback" not in out and "internal error" not in out)
    if clear:
        TALLY[f"cli.{verb}"]["typed:clear_error"] += 1
        return
    TALLY[f"cli.{verb}"]["UNEXPLAINED"] += 1
    raise UnexplainedError(f"graphdiff {' '.join(args)!r}: exit {res.exit_code}, exception {res.exception!r}, "
                           f"output:\n{out[-2000:]}")


def _opt(flag: str, values: st.SearchStrategy) -> st.SearchStrategy:
    """``[]`` or ``[flag, value]``."""
    return st.one_of(st.just([]), values.map(lambda v: [flag, v]))


_small = st.sampled_from(["1", "2"])
_number = st.one_of(_small, st.sampled_from(_BAD_NUMBERS))


@fuzz_settings(12)
@given(st.data())
def test_cli_sample(ws, data):
    args = ["sample", "-m", data.draw(st.sampled_from(_NAMES + ["qm9", "community_small", "{ws}/folder", "{ws}/nope"]))]
    args += ["-n", data.draw(st.one_of(st.sampled_from(["1", "3"]), st.sampled_from(_BAD_NUMBERS).filter(lambda v: v not in ("1e9", "99999999999999999999"))))]
    args += data.draw(_opt("--steps", st.one_of(_small, st.sampled_from(["0", "-1", "2.7", "abc", ""]))))
    args += data.draw(_opt("--nfe", st.sampled_from(["0", "-3", "1", "2.5", "x", "3"])))
    args += data.draw(_opt("--sampler", st.sampled_from(["bogus", "", "pc", "ancestral", "tau_leaping", "euler_maruyama",
                                                         "rk45", "dpm_solver_sde", "PC"])))
    args += data.draw(_opt("--seed", st.sampled_from(["0", "-1", "abc", "99999999999999999999", "7"])))
    args += data.draw(_opt("--chunk-size", st.sampled_from(["0", "-1", "1", "2", "abc", "99999999999999999999"])))
    args += data.draw(_opt("--precision", st.sampled_from(["float32", "bfloat16", "float16", "", "fp32"])))
    args += data.draw(_opt("--device", st.sampled_from(["cpu", "cuda", "cuda:7", "bogus", "", "meta", "cpu:0"])))
    args += data.draw(_opt("--option", st.sampled_from(["snr=-1", "snr=0.2", "corrector_steps=-1", "corrector_steps=2.5",
                                                        "s_noise=1e9", "temperature=0", "temperature=0.8", "guidance=-1",
                                                        "foo=1", "noequals", "=1", "predictor=bogus", "snr=abc",
                                                        "temperature=nan", "jump=bogus"])))
    args += data.draw(st.sampled_from([[], ["--resume"], ["--sort-sizes"], ["--nproc", "0"], ["--nproc", "abc"]]))
    args += ["-o", _path(ws, data.draw(st.sampled_from(_OUT_PATHS)))]
    args[2] = _path(ws, args[2])
    _invoke("sample", args)


@fuzz_settings(12)
@given(st.data())
def test_cli_evaluate(ws, data):
    args = ["evaluate", _path(ws, data.draw(st.sampled_from(_IN_PATHS + ["{ws}/ok.json"] * 4)))]
    dataset = data.draw(st.sampled_from([None, "qm9", "community_small", "community_small", "ego_small", "zinc250k", "bogus",
                                         "", "moses", "QM9"]))
    args += [] if dataset is None else ["--dataset", dataset]
    args += data.draw(_opt("--split", st.sampled_from(["test", "train", "valid", "val", "bogus", ""])))
    args += data.draw(_opt("--protocol", st.sampled_from(["gdss", "spectre", "foo", ""])))
    args += data.draw(_opt("--validity", st.sampled_from(["planar", "tree", "sbm", "foo", ""])))
    args += data.draw(_opt("--root", st.sampled_from(["{ws}/nonexistent", "{ws}/empty_root", "{ws}/ok.smi", "/proc/x",
                                                      "{ws}/data"]).map(lambda v: _path(ws, v))))
    args += data.draw(_opt("--json", st.sampled_from(["{ws}/out/r.json", "/proc/x/r.json", "{ws}/folder",
                                                      "{ws}/ok.smi/r.json"]).map(lambda v: _path(ws, v))))
    args += data.draw(st.sampled_from([[], ["--trust-pickle"]]))
    _invoke("evaluate", args)
    assert not (ws / "nonexistent").exists()  # a root the user names is never created


@fuzz_settings(10)
@given(st.data())
def test_cli_train(ws, data):
    cfg: dict = {}
    source = data.draw(st.sampled_from(["graphs_ok", "graphs_bad", "smiles_missing", "smiles_bad", "dataset_bad", "none",
                                        "dataset_missing"]))
    cfg.update({"graphs_ok": {"graphs_file": str(ws / "graphs_train.json")},
                "graphs_bad": {"graphs_file": str(ws / data.draw(st.sampled_from(["trunc.json", "directed.json", "dict.json",
                                                                               "junk.json", "latin1.smi", "folder"])))},
                "smiles_missing": {"smiles_file": str(ws / "nope.smi")},
                "smiles_bad": {"smiles_file": str(ws / data.draw(st.sampled_from(["binary.smi", "empty.smi", "latin1.smi",
                                                                               "folder"])))},
                "dataset_bad": {"dataset": data.draw(st.sampled_from(["bogus", "", "QM9"]))},
                "dataset_missing": {"dataset": "qm9"},
                "none": {}}[source])
    cfg["family"] = data.draw(st.sampled_from(["discrete", "continuous", "bogus", ""]))
    cfg["network"] = dict(_TINY_NET, **data.draw(st.sampled_from([{}, {"hidden": -5}, {"hidden": 0}, {"depth": "x"},
                                                                  {"bogus_key": 1}, {"heads": 3}])))
    steps = data.draw(st.sampled_from([1, 2, 0, -1, 20.7, "abc", None, True]))
    train = {"steps": steps, "batch_size": data.draw(st.sampled_from([2, 4, 0, -1, 2.5, "x"])),
             "lr": data.draw(st.sampled_from([1e-3, 0.0, -1.0, 1e9, float("nan"), "fast"])),
             "checkpoint_every": 1, "max_minutes": data.draw(st.sampled_from([1, 0, -1, None]))}
    cfg["train"] = {k: v for k, v in train.items() if v is not None}
    cfg["sampling"] = data.draw(st.sampled_from([{}, {"steps": 0}, {"steps": 2}, {"sampler": "bogus"}, {"steps": "x"},
                                                 {"sampler": "pc", "steps": 2}, []]))
    cfg["out"] = data.draw(st.sampled_from([str(ws / "runs" / "r"), "/proc/x/run", str(ws / "ok.smi" / "run")]))
    cfg["progress"] = False
    if data.draw(st.booleans()):
        cfg[data.draw(st.sampled_from(["bogus_key", "devcie"]))] = 1
    cfg_file = ws / "config.yaml"
    import yaml

    cfg_file.write_text(yaml.safe_dump(cfg))
    args = ["train", "--config", data.draw(st.sampled_from([str(cfg_file), str(cfg_file), str(ws / "nope.yaml"),
                                                            str(ws / "config_bad_yaml.yaml"), str(ws / "config_list.yaml"),
                                                            str(ws / "folder")]))]
    args += data.draw(_opt("--steps", st.sampled_from(["0", "-1", "abc", "1"])))
    args += data.draw(_opt("--device", st.sampled_from(["cpu", "cuda", "bogus"])))
    args += data.draw(_opt("--nproc", st.sampled_from(["0", "-1", "abc"])))
    args += data.draw(_opt("--max-minutes", st.sampled_from(["0", "-1", "nan", "abc", "1"])))
    args += data.draw(_opt("--init-from", st.sampled_from(["bogus", "{ws}/folder", "community_small"]).map(lambda v: _path(ws, v))))
    _invoke("train", args)
    import shutil

    shutil.rmtree(ws / "runs", ignore_errors=True)  # no resume across examples


_LISTING_ARGS = st.lists(st.sampled_from(["--json", "--bogus", "extra", "--help", "-n", "1", "", "--json=1", "\u00e9", "--no-json",
                                          "-", "--", "qm9", "/proc/x", "-h", "--JSON"]), max_size=4)


@fuzz_settings(10)
@given(_LISTING_ARGS)
def test_cli_datasets(ws, extra):
    _invoke("datasets", ["datasets", *extra])


@fuzz_settings(10)
@given(_LISTING_ARGS)
def test_cli_models(ws, extra):
    _invoke("models", ["models", *extra])


@fuzz_settings(10)
@given(st.lists(st.sampled_from(["", "bogus", "--help", "--version", "sample", "train", "evaluate", "--json", "-n", "x",
                                 "datasets", "models", "-", "--", "help", "--install-completion"]), max_size=4))
def test_cli_top_level(ws, words):
    _invoke("top-level", words)
