"""The steering rows of the property-targeting benchmark (benchmarks/conditional_steer.py): the
model (alone, + predictor) and best-of-k selection in separate tables, ratios against the
unconditional reference, the gate per row, and a page block that is replaced, not appended twice."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import conditional_steer as steer  # noqa: E402


def _row(n, k, ps, mae, valid, calls):
    return {"mae": dict(zip(steer.PROPS, mae)), "n": n, "validity_wo_correction": valid, "validity": 1.0,
            "uniqueness": 1.0, "novelty": 0.3, "calls": calls, "scale": 1.0, "predictor_scale": ps, "candidates": k,
            "per": n // 100, "model": "qm9_cond", "predictor": "P" if ps else None, "commit": "abc1234",
            "date": "2026-12-07 16:00 UTC", "machine": "test machine"}


def test_steer_report_tables_gate_and_block(tmp_path):
    work = tmp_path / "W"
    work.mkdir()
    (work / "uncond.json").write_text(json.dumps({"uncond": {"mae": {"logp": 1.0, "qed": 0.08, "mw": 8.0}, "n": 1000, "calls": 23}}))
    rows = {"alone": _row(1000, 1, 0.0, (0.4, 0.056, 2.4), 0.99, 49),       # 40% / 70% / 30%: fails
            "pred": _row(200, 1, 0.5, (0.2, 0.016, 1.6), 0.96, 98),         # 20% / 20% / 20% but validity 96%: fails
            "best8": _row(1000, 8, 0.0, (0.2, 0.02, 1.6), 1.0, 392)}        # 20% / 25% / 20%: passes
    for name, r in rows.items():
        (work / f"steer-{name}.json").write_text(json.dumps(r))
    page = tmp_path / "page.md"
    page.write_text("# page\n\nearlier rows\n")
    args = argparse.Namespace(work=str(work), out=str(page), targets=100, seed=0, reference="qm9_ctmc")
    steer.steer_report(args, None)
    text = page.read_text()
    assert text.startswith("# page\n\nearlier rows\n") and text.count(steer.BEGIN) == 1
    model, sel = text.split("**Best-of-k selection**")
    assert "| w = 1 (model alone) | 1000 | 49 | 0.400 | 0.0560 | 2.40 | 40% / 70% / 30% | 0.9900 |" in model
    assert "| w = 1 + predictor 0.5 | 200 | 98 |" in model and model.count("PASS") == 0
    assert "| w = 1, best-of-8 | 1000 | 392 | 0.200 | 0.0200 | 1.60 | 20% / 25% / 20% | 1.0000 |" in sel
    assert "does **not** meet the gate at 1,000 samples; best-of-k selection meets it at k = 8" in sel
    # a second report replaces the block
    (work / "steer-best8.json").unlink()
    steer.steer_report(args, None)
    text = page.read_text()
    assert text.count(steer.BEGIN) == 1 and "best-of-8" not in text and "earlier rows" in text
    # rows of a second model (a further training stage) are named by their run folder
    (work / "steer-other.json").write_text(json.dumps({**_row(200, 1, 0.0, (0.3, 0.04, 2.0), 0.98, 49),
                                                      "model": "runs/qm9_cond_lowdrop/model"}))
    steer.steer_report(args, None)
    text = page.read_text()
    assert "models `qm9_cond`, `runs/qm9_cond_lowdrop/model` at" in text
    assert "| `qm9_cond_lowdrop` w = 1 (model alone) | 200 | 49 | 0.300 |" in text and "| `qm9_cond` w = 1 (model alone) | 1000 |" in text
    assert "**Gate verdict**: the model alone (with or without the predictor) does **not** meet the gate at 1,000 samples.\n" in text
