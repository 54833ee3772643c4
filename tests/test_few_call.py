"""benchmarks/few_call.py (the few-call sampler sweeps of the bundled CTMC models) and
benchmarks/default_call_speed.py: each setting's name states the sampler it runs, the report reads
``discrete_graphs.py`` result files back into its tables, and the speed rows sample what they say."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from graphdiff.cli import parse_key_values
from graphdiff.samplers import CTMC_SAMPLERS

ROOT = Path(__file__).resolve().parents[1]
#: the time grid of each model's earlier card default: a setting's name says t^p only where p differs
BASE_TIME_POWER = {"qm9_ctmc": 2.0, "zinc250k_ctmc": 3.0}


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_graphdiff_{name}", ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def few_call():
    yield _load("few_call")
    sys.modules.pop("_graphdiff_few_call", None)


def _args(row: list[str]) -> dict:
    """The sampler, steps, options and time power of one row's ``discrete_graphs.py`` arguments."""
    out: dict = {"options": []}
    it = iter(row)
    for flag in it:
        value = next(it)
        if flag == "--option":
            out["options"].append(value)
        else:
            out[flag.lstrip("-").replace("-", "_")] = value
    out["options"] = parse_key_values(out["options"])
    return out


def test_every_setting_name_states_its_sampler_and_calls(few_call):
    for model, spec in few_call.MODELS.items():
        assert set(spec.check) <= set(spec.grid), model
        for name, row in spec.grid.items():
            a = _args(row)
            steps, power = int(a["steps"]), float(a["time_power"])
            m = re.fullmatch(r"(anc|pc)(\d+)(?:c(\d+))?(s2)?(?:tp(\d+))?", name)
            assert m, name
            kind, n, c, s2, tp = m.groups()
            assert int(n) == steps and float(tp or BASE_TIME_POWER[model]) == power, (model, name)
            assert bool(s2) == ("corrector_step_size" in a["options"]), name
            options = {k: v for k, v in a["options"].items() if k != "predictor"}
            cost = CTMC_SAMPLERS.get(a["sampler"]).cost(**options).calls(steps)
            if kind == "pc":
                assert a["sampler"] == "pc" and a["options"]["predictor"] == "ancestral"
                assert int(c) == a["options"]["corrector_steps"]
                assert cost == steps * (1 + int(c)) - int(c), name  # the last step runs no corrector
            else:
                assert a["sampler"] == "ancestral" and c is None and cost == steps


def test_row_command_runs_discrete_graphs_with_the_models_batching(few_call, tmp_path):
    cmd = few_call.row_command("zinc250k_ctmc", "pc25c3", tmp_path / "x.md", 1000, 1)
    i = cmd.index("--dataset")
    assert cmd[1].endswith("discrete_graphs.py") and cmd[i + 1] == "zinc250k"
    assert cmd[cmd.index("--seed") + 1] == "1" and "--sort-sizes" in cmd and cmd[cmd.index("--batch-size") + 1] == "512"
    assert cmd[-len(few_call.ZINC.grid["pc25c3"]):] == few_call.ZINC.grid["pc25c3"]
    assert "--sort-sizes" not in few_call.row_command("qm9_ctmc", "pc17c2", tmp_path / "x.md", 1000, 0)


def _result(calls: int, valid: float, fcd: float, single: float, setting: str) -> str:
    """A ``discrete_graphs.py`` result file, the lines the report reads."""
    metrics = {"validity_wo_correction": valid, "uniqueness": 0.999, "novelty": 0.9998, "fcd": fcd, "nspdk": 0.0042}
    return "\n".join([
        "## Discrete CTMC diffusion on zinc250k (GDSS molecule protocol)", "",
        "- date: 2026-12-07 15:40 UTC; commit `abc1234`",
        "- machine: x86_64 CPU, 2 cores visible, torch 2, 1 thread(s)",
        f"- sampling: {setting}, {calls} network calls per molecule (999 in all over batches), 1000 molecules, seed 0; "
        f"{calls * 3.0:.1f} s = {calls * 3.0:.1f} ms per molecule (in size order); metrics took 30 s",
        "- protocol: 1000 samples, node counts from the training set, decoded with `gdss`; validity w/o correction / all "
        "samples; uniqueness / valid; novelty vs 224568 train SMILES; FCD and NSPDK vs the 24887 test SMILES",
        f"- single-fragment samples (one connected molecule before the largest fragment is kept): {single:.1f}%", "",
        "| metric | value | protocol |", "|---|---|---|",
        *(f"| {k} | {v:.4f} | gdss |" for k, v in metrics.items()), ""])


def test_report_reads_the_runs_back_in_call_order(few_call, tmp_path, monkeypatch):
    ref = "pc, 25 steps (time grid (1 - i/n)^3, predictor ancestral, corrector_steps 3)"
    few = "pc, 8 steps (time grid (1 - i/n)^3, predictor ancestral, corrector_steps 2)"
    (tmp_path / "pc25c3_n1000_s0.md").write_text(_result(97, 0.963, 5.53, 76.0, ref))
    (tmp_path / "pc8c2_n1000_s0.md").write_text(_result(22, 0.958, 5.81, 74.5, few))
    check = "pc8c2"
    monkeypatch.setitem(few_call.MODELS, "zinc250k_ctmc", replace(few_call.ZINC, check=(check,), reading="At 10,000: {summary}."))
    (tmp_path / f"{check}_n10000_s1.md").write_text(_result(22, 0.9612, 4.8, 75.25, few))
    text = few_call.report("zinc250k_ctmc", tmp_path)
    grid = text.split("## 1,000 samples")[1]
    assert grid.index("`pc25c3`") < grid.index("`pc8c2`")  # most calls first
    assert f"| `pc8c2`: {few} | 22 | 1,000 | 0 | 95.80% | 74.5% | 99.90% | 1.000 | 5.810 | 0.0042 | 66.0 |" in grid
    assert "224,568 training SMILES" in text and "24,887 test SMILES" in text
    assert f"`{check}` (22 calls): validity w/o correction 96.12%, single fragment 75.2%, FCD 4.800 (seeds 1)" in text
    assert "## 10,000 samples" in text
    (tmp_path / f"{check}_n10000_s1.md").unlink()
    assert "## 10,000 samples" not in few_call.report("zinc250k_ctmc", tmp_path)  # no section without its runs
    with pytest.raises(SystemExit, match="no runs"):
        few_call.report("zinc250k_ctmc", tmp_path / "empty")


def test_default_call_rows_sample_with_the_sampler_they_name():
    speed = _load("default_call_speed")
    try:
        for model, old in speed.OLD_SAMPLER.items():
            assert speed.sample_kwargs(model, "old") == {"precision": "float32", "sort_sizes": False, **old}
            assert speed.sample_kwargs(model, "previous") == {"precision": "auto", "sort_sizes": True, **old}
            assert speed.sample_kwargs(model, "new") == {"precision": "auto", "sort_sizes": True}
        # the earlier zinc250k_ctmc sampler is the 97-call one its 10,000-sample numbers were measured with
        zinc = speed.OLD_SAMPLER["zinc250k_ctmc"]
        opts = {k: v for k, v in zinc["sampler_options"].items() if k != "time_power"}
        assert CTMC_SAMPLERS.get("pc").cost(**opts).calls(zinc["steps"]) == 97
    finally:
        sys.modules.pop("_graphdiff_default_call_speed", None)


def _card_sampling(model: str) -> dict:
    card = json.loads((ROOT / "graphdiff" / "pretrained" / model / "config.json").read_text())["card"]["sampling"]
    return {"sampler": card["sampler"], "steps": int(card["steps"]), "time_power": float(card["time_power"]),
            "options": dict(card.get("options", {}).get(card["sampler"], {}))}


def test_each_card_samples_with_a_setting_checked_at_10000(few_call):
    """The card's default sampler is one of its sweep's settings, and one of those run at 10,000 samples
    (the quality its page reports for the default call)."""
    for model, spec in few_call.MODELS.items():
        card = _card_sampling(model)
        same = [name for name, row in spec.grid.items()
                if {**(a := _args(row)), "steps": int(a["steps"]), "time_power": float(a["time_power"])} == card]
        assert len(same) == 1 and same[0] in spec.check, (model, card, same)
        calls = CTMC_SAMPLERS.get(card["sampler"]).cost(
            **{k: v for k, v in card["options"].items() if k != "predictor"}).calls(card["steps"])
        assert calls == {"qm9_ctmc": 23, "zinc250k_ctmc": 97}[model], (model, calls)
