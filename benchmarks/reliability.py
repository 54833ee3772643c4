"""Bad-input reliability, lost work and memory.

1. The fuzz suite (``tests/fuzz``, API entry points) at ``--scale`` times its example counts, and
   the CLI fuzz test (``tests/fuzz/test_fuzz_cli.py``: generated invocations of every verb with bad
   paths, names and numbers, in-process) at ``--cli-scale`` (100 gives >= 1,000 invocations per
   verb). Outcomes per entry point: a result, a typed / clear error (``graphdiff.errors``, a
   ValueError / TypeError written by graphdiff; for the CLI: exit code 2 with one ``error:`` line),
   or UNEXPLAINED (a traceback, an internal error: fails the suite). Counted skips are the rows the
   readers skipped and reported (never dropped silently).
2. Lost work: ``graphdiff sample`` to a file is SIGKILLed ``--kills`` times mid-run and resumed with
   ``--resume``; the finished file is compared with an uninterrupted run's (samples lost = lines
   that differ or are missing).
3. Memory: peak RSS of ``graphdiff sample`` (streamed in chunks of 1,000) with a one-step sampler
   for each of ``--rss-sizes`` molecules, each in a fresh process.

    python benchmarks/reliability.py --scale 5 --cli-scale 100 --kills 5 --rss-sizes 10000 100000

Writes ``benchmarks/results/reliability.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _common import git_commit as _commit  # noqa: E402

_CLASSES = ["result", "typed", "known_bug", "UNEXPLAINED"]


def _pytest(paths: list[str], scale: float, extra: list[str]) -> tuple[dict, dict, str, float, list[str]]:
    with tempfile.TemporaryDirectory() as d:
        report = Path(d) / "tally.json"
        env = dict(os.environ, GRAPHDIFF_FUZZ_SCALE=str(scale), GRAPHDIFF_FUZZ_REPORT=str(report), OMP_NUM_THREADS="1")
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths, *extra]
        t0 = time.time()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.time() - t0
        data = json.loads(report.read_text()) if report.exists() else {}
    tally, skips = (data.get("tally", {}), data.get("skips", {})) if "tally" in data else (data, {})
    summary = next((ln for ln in reversed(proc.stdout.splitlines()) if " in " in ln and ("passed" in ln or "failed" in ln)), "")
    failed = [ln for ln in proc.stdout.splitlines() if ln.startswith(("FAILED", "XPASS"))]
    if proc.returncode != 0:
        print(proc.stdout[-4000:], file=sys.stderr)
    return tally, skips, summary.strip(), wall, failed


def _rows(tally: dict, skips: dict) -> tuple[list[str], Counter]:
    rows, totals = [], Counter()
    for entry in sorted(tally):
        c, detail = Counter(), []
        for k, v in sorted(tally[entry].items()):
            c[k.split(":")[0]] += v
            if ":" in k:
                detail.append(f"{k.split(':', 1)[1]} {v}")
        totals.update(c)
        totals["skipped"] += skips.get(entry, 0)
        rows.append(f"| `{entry}` | {sum(c.values())} | " + " | ".join(str(c[k]) for k in _CLASSES)
                    + f" | {skips.get(entry, 0)} | {', '.join(detail) or '-'} |")
    return rows, totals


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "graphdiff.cli", *args]


def kill_and_resume(n: int, chunk: int, kills: int, work: Path) -> dict:
    """SIGKILL ``graphdiff sample`` ``kills`` times after a new chunk lands, resume, compare."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    args = ["sample", "-m", "qm9", "-n", str(n), "--steps", "1", "--chunk-size", str(chunk), "--seed", "3"]
    ref = work / "ref.smi"
    subprocess.run(_cli(*args, "-o", str(ref)), env=env, check=True, capture_output=True)
    out = work / "killed.smi"
    parts = work / "killed.smi.parts"
    done_kills, chunks_at_kill = 0, []
    while done_kills < kills:
        proc = subprocess.Popen(_cli(*args, "-o", str(out), "--resume"), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        before = len(list(parts.glob("chunk-*"))) if parts.exists() else 0
        while proc.poll() is None:
            now = len(list(parts.glob("chunk-*"))) if parts.exists() else 0
            if now > before:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                done_kills += 1
                chunks_at_kill.append(now)
                break
            time.sleep(0.02)
        if proc.returncode == 0:  # finished before the kill: the run was too short for more kills
            break
    final = subprocess.run(_cli(*args, "-o", str(out), "--resume"), env=env, capture_output=True, text=True)
    a, b = ref.read_text().splitlines(), out.read_text().splitlines() if out.exists() else []
    lost = sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))
    return {"n": n, "chunk": chunk, "kills": done_kills, "chunks_at_kill": chunks_at_kill, "lost": lost,
            "identical": a == b, "final_rc": final.returncode, "final": final.stdout.strip().splitlines()[:1]}


_RSS_SCRIPT = """
import json, resource, sys, time
import torch
torch.set_num_threads(1)
from graphdiff.pipelines import load_pretrained
from graphdiff.pipelines.streaming import sample_to_file
n, out = int(sys.argv[1]), sys.argv[2]
pipe = load_pretrained("qm9")
t = time.time()
res = sample_to_file(pipe, n, out, chunk_size=1000, steps=1, seed=0)
print(json.dumps({"n": n, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "seconds": time.time() - t,
                  "valid": res.n_valid}))
"""


def peak_rss(n: int, work: Path) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(n), str(work / f"rss_{n}.smi")], env=env, check=True,
                       capture_output=True, text=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=5.0, help="multiplier of the API fuzz tests' max_examples")
    ap.add_argument("--cli-scale", type=float, default=100.0, help="multiplier of the CLI fuzz test's max_examples")
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--kill-n", type=int, default=3000)
    ap.add_argument("--rss-sizes", type=int, nargs="*", default=[10000, 100000])
    ap.add_argument("--out", type=Path, default=HERE / "results" / "reliability.md")
    args = ap.parse_args()

    import torch

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    api = _pytest(["tests/fuzz"], args.scale, ["--deselect", "tests/fuzz/test_fuzz_cli.py", "--ignore", "tests/fuzz/test_fuzz_cli.py"])
    cli = _pytest(["tests/fuzz/test_fuzz_cli.py"], args.cli_scale, [])
    with tempfile.TemporaryDirectory() as d:
        kr = kill_and_resume(args.kill_n, 300, args.kills, Path(d)) if args.kills else None
        rss = [peak_rss(n, Path(d)) for n in args.rss_sizes]

    api_rows, api_tot = _rows(*api[:2])
    cli_rows, cli_tot = _rows(*cli[:2])
    tot = api_tot + cli_tot
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lost = kr["lost"] if kr else 0
    lines = [
        f"# Reliability under bad input, kills and large runs ({now})",
        "",
        f"- commit `{_commit()}`; machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared with other jobs; "
        f"load average {load:.1f} at the start), Python {platform.python_version()}, torch {torch.__version__}, "
        "OMP_NUM_THREADS=1",
        f"- command: `python benchmarks/reliability.py --scale {args.scale:g} --cli-scale {args.cli_scale:g} "
        f"--kills {args.kills} --kill-n {args.kill_n} --rss-sizes {' '.join(map(str, args.rss_sizes))}` (hypothesis "
        "derandomized: the same inputs on every run)",
        f"- API fuzz (`pytest tests/fuzz` without the CLI test, `GRAPHDIFF_FUZZ_SCALE={args.scale:g}`): {api[2] or 'no summary'}; "
        f"wall {api[3]:.0f} s",
        f"- CLI fuzz (`pytest tests/fuzz/test_fuzz_cli.py`, `GRAPHDIFF_FUZZ_SCALE={args.cli_scale:g}`, typer's CliRunner "
        f"in-process): {cli[2] or 'no summary'}; wall {cli[3]:.0f} s",
        "- outcome classes: *result* (a value whose invariants the test checks; for the CLI exit code 0); *typed* (a "
        "`graphdiff.errors` error or a ValueError / TypeError / FileNotFoundError raised by graphdiff's own code; for the "
        "CLI exit code 2 with exactly one `error:` line); *known bug* (a strict-xfail reproducer in "
        "`tests/fuzz/test_known_bugs.py`; none are left); *UNEXPLAINED* (a traceback, an internal error, any other exit "
        "code: fails the suite). *skipped*: input rows a reader skipped and counted in its report.",
        "",
        f"**{sum(tot[k] for k in _CLASSES)} inputs tried** ({sum(cli_tot[k] for k in _CLASSES)} CLI invocations): "
        f"{tot['result']} results, {tot['typed']} clear errors, {tot['skipped']} counted skips, "
        f"{tot['UNEXPLAINED']} tracebacks / unexplained, {tot['known_bug']} known bugs; samples lost to kills: {lost}.",
        "",
        "| entry point | inputs | result | typed / clear error | known bug | unexplained | skipped rows | detail |",
        "|---|---|---|---|---|---|---|---|",
        *cli_rows,
        *api_rows,
        "",
    ]
    if kr:
        lines += [
            "## Kill and resume (`graphdiff sample --resume`)",
            "",
            f"`graphdiff sample -m qm9 -n {kr['n']} --steps 1 --chunk-size {kr['chunk']} --seed 3`, SIGKILLed {kr['kills']} "
            f"times, each time right after a new chunk landed (finished chunks on disk at each kill: "
            f"{', '.join(map(str, kr['chunks_at_kill']))}), then resumed to the end (exit code {kr['final_rc']}). The file "
            f"is {'byte-identical to' if kr['identical'] else 'DIFFERENT from'} the uninterrupted run's: "
            f"**samples lost = {kr['lost']}**.",
            "",
        ]
    if rss:
        lines += [
            "## Memory: peak RSS of a streamed run",
            "",
            "`sample_to_file(load_pretrained('qm9'), n, 'x.smi', chunk_size=1000, steps=1)` (the bundled QM9 CTMC model, "
            "one network call per molecule), each size in a fresh process; peak RSS from `getrusage` (includes "
            "torch, RDKit and the model).",
            "",
            "| molecules | peak RSS (MB) | seconds | valid |",
            "|---|---|---|---|",
            *[f"| {r['n']:,} | {r['rss_mb']:.0f} | {r['seconds']:.0f} | {r['valid']:,} |" for r in rss],
            "",
        ]
        if len(rss) >= 2:
            lo, hi = rss[0]["rss_mb"], rss[-1]["rss_mb"]
            lines += [f"{rss[-1]['n'] // max(rss[0]['n'], 1)}x the molecules: peak RSS x{hi / lo:.3f} "
                      f"({'within' if abs(hi / lo - 1) <= 0.10 else 'NOT within'} 10%).", ""]
    failed = api[4] + cli[4]
    if failed:
        lines += ["Failures:", "", *[f"- `{f}`" for f in failed], ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
