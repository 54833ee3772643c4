# Over 450 lines on purpose: the whole command line (train, sample, evaluate, datasets, models) and its one error path.
"""The ``graphdiff`` command line: ``train``, ``sample``, ``evaluate``, ``datasets``, ``models``.

This is the only code in graphdiff that parses configuration files (YAML, passed with
``--config``); everything else takes explicit keyword arguments.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Optional

import typer
from typer.core import TyperGroup

from .errors import GraphdiffError

_PKG = str(Path(__file__).resolve().parent)


def user_error(exc: BaseException) -> bool:
    """A failure whose message was written for the user: a :class:`GraphdiffError`, or a
    ``ValueError`` / ``TypeError`` / ``FileNotFoundError`` / ``KeyError`` raised by a ``raise``
    statement in graphdiff, or an ``OSError`` / ``UnicodeDecodeError`` reading or writing a file
    (its message names the file). Anything else is an internal error."""
    if isinstance(exc, (GraphdiffError, UnicodeError)):
        return True
    if isinstance(exc, OSError) and getattr(exc, "filename", None):
        return True
    if isinstance(exc, (ValueError, TypeError, FileNotFoundError, KeyError, NotImplementedError)):
        tb = traceback.extract_tb(exc.__traceback__)
        last = tb[-1] if tb else None
        return bool(last and str(Path(last.filename).resolve()).startswith(_PKG)
                    and (last.line or "").lstrip().startswith("raise"))
    return False


def _message(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, UnicodeDecodeError):
        return f"cannot read the file as UTF-8 text ({exc.reason} at byte {exc.start}); is it a text file?"
    if isinstance(exc, OSError) and getattr(exc, "filename", None):
        return f"{exc.strerror or text}: {exc.filename}"
    return text


class _Group(TyperGroup):
    """Every failure of every command ends as one ``error:`` line on stderr and exit code 2 (usage
    errors too), never a traceback; ``GRAPHDIFF_DEBUG=1`` re-raises to show it."""

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        from typer import _click

        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _click.exceptions.ClickException as exc:
            if not exc.format_message().strip():  # no arguments at all: the help was shown
                sys.exit(0)
            hint = ""
            ctx = getattr(exc, "ctx", None)
            if isinstance(exc, _click.exceptions.UsageError) and ctx is not None:
                hint = f" (see `{ctx.command_path} --help`)"
            typer.secho(f"error: {' '.join(exc.format_message().split())}{hint}", fg=typer.colors.RED, err=True)
            sys.exit(2)
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.secho("error: aborted", fg=typer.colors.RED, err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            typer.secho("error: interrupted", fg=typer.colors.RED, err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - the point: no traceback reaches the user
            if os.environ.get("GRAPHDIFF_DEBUG"):
                raise
            if user_error(exc):
                msg = _message(exc)
            else:
                msg = (f"internal error ({type(exc).__name__}: {_message(exc)}); rerun with GRAPHDIFF_DEBUG=1 for the "
                       "traceback and please report it")
            typer.secho(f"error: {msg}", fg=typer.colors.RED, err=True)
            sys.exit(2)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=_Group,
    name="graphdiff",
    help=(
        "Diffusion models for graphs and molecules.\n\n"
        "Typical use:\n\n"
        "  graphdiff datasets                      # what data is available\n\n"
        "  graphdiff models                        # pretrained models shipped with the package\n\n"
        "  graphdiff sample --model qm9 -n 100 -o mols.smi\n\n"
        "  graphdiff evaluate mols.smi --dataset qm9\n\n"
        "  graphdiff train --smiles my.smi         # or --config my_run.yaml"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def parse_key_values(items: list[str]) -> dict[str, Any]:
    """``["temperature=0.8", "name=x"]`` -> ``{"temperature": 0.8, "name": "x"}``: each value is
    read as JSON, else kept as text. Raises ``ValueError`` for an item without ``KEY=``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{item!r}: expected KEY=VALUE, e.g. temperature=0.8")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    lines = [fmt.format(*header), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*[str(c) for c in r]) for r in rows]
    return "\n".join(lines)


def load_config(path: Path) -> dict[str, Any]:
    """Read a YAML config file into a dict (:func:`graphdiff.pipelines.train.read_config`); a
    missing file, bad YAML or a file that is not a mapping is one ``error:`` line."""
    from .pipelines.train import read_config

    try:
        return read_config(path)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))


# --------------------------------------------------------------------------- datasets
@app.command()
def datasets(
    as_json: bool = typer.Option(False, "--json", help="Print the dataset cards as JSON."),
) -> None:
    """List every dataset graphdiff knows, with split counts and split rule."""
    from .data import list_datasets

    cards = list_datasets()
    if as_json:
        typer.echo(json.dumps(cards, indent=2))
        return
    rows = [[c["name"], c["kind"], f"{c['total']:,}", ", ".join(f"{k} {v:,}" for k, v in c["splits"].items())] for c in cards]
    typer.echo(_table(rows, ["name", "kind", "total", "splits"]))
    typer.echo("\nFiles are read from --root / $GRAPHDIFF_DATA / ~/.cache/graphdiff; see datasets/<name>.md for sources and sha256.")


# --------------------------------------------------------------------------- models
@app.command()
def models(as_json: bool = typer.Option(False, "--json", help="Print the model cards as JSON.")) -> None:
    """List the pretrained models shipped with the package."""
    from .pipelines import list_pretrained

    names = list_pretrained(details=True)
    if as_json:
        typer.echo(json.dumps(names, indent=2))
        return
    if not names:
        typer.echo("no pretrained models are bundled in this installation")
        return
    rows = [[m["name"], ", ".join(m.get("aliases", [])) or "-", m.get("family", ""), m.get("dataset", ""), m.get("measured", "")]
            for m in names]
    typer.echo(_table(rows, ["name", "also called", "family", "dataset", "measured at the default sampler (see --json for the cards)"]))
    typer.echo("\nAn alias with a class in brackets resolves to that model on that class only, e.g. "
               "ContinuousGraphDiffusion.from_pretrained(\"qm9\").")


# --------------------------------------------------------------------------- evaluate
def _read_smiles(path: Path) -> list[str]:
    import warnings

    from .data import read_smiles_file
    from .data.custom import skipped_lines

    counts: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # said once, below
        rows = read_smiles_file(path, counts=counts)
    if counts.get("blank") or "comma" in str(counts.get("format")):  # anything a user would not expect
        skipped = skipped_lines(counts)
        typer.secho(f"note: read {len(rows):,} SMILES from {counts.get('lines', 0):,} lines of {path.name} "
                    f"({counts.get('format')}){'; skipped ' + skipped if skipped else ''}", err=True)
    return rows


def _read_graphs(path: Path, trust_pickle: bool) -> list:

    if path.suffix == ".json":
        from .data.custom import read_graphs_file

        return read_graphs_file(path)
    if path.suffix in (".pkl", ".pickle"):
        if not trust_pickle:
            _fail(f"{path} is a pickle; unpickling runs code. Pass --trust-pickle if you made this file yourself.")
        import pickle

        with open(path, "rb") as fh:
            graphs = pickle.load(fh)  # noqa: S301 - explicit user opt-in above
        if isinstance(graphs, dict):
            graphs = graphs.get("graphs", graphs.get("test"))
        if not isinstance(graphs, list):
            _fail(f"{path} must hold a list of networkx graphs")
        return graphs
    _fail(f"unsupported graph file {path}: use .json (networkx node-link list) or .pkl")
    return []


@app.command()
def evaluate(
    generated: Path = typer.Argument(..., help="Generated samples: SMILES (.smi/.txt/.csv) or graphs (.json node-link list, .pkl)."),
    dataset: str = typer.Option(..., "--dataset", "-d", help="Reference dataset name (see `graphdiff datasets`)."),
    split: str = typer.Option("test", help="Reference split."),
    protocol: str = typer.Option("gdss", help="Graph-metric protocol preset: gdss or spectre."),
    root: Optional[Path] = typer.Option(None, help="Data root (default $GRAPHDIFF_DATA or the user cache)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write all values and metric cards to this JSON file."),
    trust_pickle: bool = typer.Option(False, help="Allow reading a .pkl of graphs (unpickling runs code)."),
    validity: Optional[str] = typer.Option(None, help="Graph validity for V.U.N.: planar, tree or sbm."),
    suite: str = typer.Option("gdss", help="Molecule metric suite: gdss (validity, uniqueness, novelty, FCD, NSPDK), "
                              "moses (the MOSES set) or guacamol (KL-divergence and FCD scores vs the training set)."),
) -> None:
    """Evaluate generated molecules or graphs against a dataset split and print a table."""
    from .data import get_card, load
    from .metrics.molecules import MOLECULE_SUITES

    if not generated.exists():
        _fail(f"file not found: {generated}")
    if generated.is_dir():
        _fail(f"{generated} is a folder; give the file of generated samples")
    try:
        card = get_card(dataset)
    except ValueError as exc:
        _fail(str(exc))
    if root is not None and not root.is_dir():
        _fail(f"data root {root} does not exist (or is not a folder); give the folder that holds the data, "
              "or leave --root out for $GRAPHDIFF_DATA / the user cache")
    if suite not in MOLECULE_SUITES:
        _fail(f"unknown suite {suite!r}; valid: {', '.join(MOLECULE_SUITES)}")
    if card.kind != "molecules" and suite != "gdss":
        _fail(f"--suite {suite} is for molecule datasets; {dataset!r} holds graphs (use --protocol)")
    if card.kind != "molecules":  # check the names before any metric is computed
        from .metrics.graph import PROTOCOLS
        from .metrics.vun import VALIDITY

        if protocol not in PROTOCOLS:
            _fail(f"unknown protocol {protocol!r}; valid: {', '.join(PROTOCOLS)}")
        if validity is not None and validity not in VALIDITY:
            _fail(f"unknown validity {validity!r}; valid: {', '.join(VALIDITY)}")
    if json_out is not None:
        from .outputs import check_writable_dir

        if json_out.is_dir():
            _fail(f"--json {json_out} is a folder; give a file name")
        check_writable_dir(json_out.parent)
    # read the user's file first: its errors are the cheapest to report
    samples = _read_smiles(generated) if card.kind == "molecules" else _read_graphs(generated, trust_pickle)
    try:
        ds = load(dataset, root=root)
        if split not in ds.splits:
            _fail(f"dataset {dataset!r} has no split {split!r}; valid splits: {', '.join(ds.splits)}")
    except (GraphdiffError, FileNotFoundError) as exc:
        if root is not None:  # the user named the folder: a missing file there is an error
            _fail(str(exc))
        _evaluate_without_reference(samples, card.kind, dataset, validity, json_out, reason=str(exc))
        return
    if card.kind == "molecules":
        from .metrics import molecule_metrics

        scaffolds = ds.smiles("test_scaffolds") if suite == "moses" and "test_scaffolds" in ds.splits and split == "test" else None
        result = molecule_metrics(samples, train_smiles=ds.smiles("train"), test_smiles=ds.smiles(split), suite=suite,
                                  test_scaffolds_smiles=scaffolds, progress=suite != "gdss")
        for line in _small_sample_warnings(result, suite, dataset):
            typer.secho(line, fg=typer.colors.YELLOW, err=True)
    else:
        from .metrics import graph_metrics

        graphs = samples
        result = graph_metrics(ds.split(split), graphs, protocol=protocol, train_graphs=ds.split("train"))
        if validity:
            from .metrics.vun import vun_metrics

            vun = vun_metrics(graphs, ds.split("train"), validity=validity)
            typer.echo(vun.to_markdown() if hasattr(vun, "to_markdown") else str(vun))
    typer.echo(result.to_markdown())
    if json_out is not None:
        json_out.write_text(json.dumps(result.to_dict(), indent=2, default=str))
        typer.echo(f"wrote {json_out}")


#: samples each protocol scores, and what a perfect generator (random training molecules vs the test
#: set) scores at fewer: measured in benchmarks/results/discrete_zinc250k.md (ZINC250k: FCD 1.44 /
#: 1.53 / 1.47 at 1,000, 0.19 and NSPDK 0.0001 at 10,000) and metrics_speed_molecules.md (QM9:
#: FCD 0.077, NSPDK 0.00016 at 10,000).
_PROTOCOL_SAMPLES = {"gdss": 10000, "moses": 30000, "guacamol": 10000}
_PERFECT_GENERATOR = {
    "zinc250k": "a perfect generator scores FCD ~1.48 at 1,000 ZINC250k molecules and 0.19 at 10,000 (NSPDK 0.0001)",
    "qm9": "a perfect generator scores FCD 0.077 and NSPDK 0.00016 at 10,000 QM9 molecules; fewer samples read higher",
}


def _small_sample_warnings(result: Any, suite: str, dataset: str) -> list[str]:
    """One warning line per FCD / NSPDK value computed on fewer samples than its protocol uses."""
    protocol_n = _PROTOCOL_SAMPLES[suite]
    ref = _PERFECT_GENERATOR.get(dataset, _PERFECT_GENERATOR["zinc250k"])
    lines = []
    for card in result.cards:
        if card.name.split("_")[0] in ("fcd", "nspdk") and card.n_generated is not None and card.n_generated < protocol_n:
            lines.append(f"warning: {card.name} from {card.n_generated:,} samples; the {suite} protocol uses {protocol_n:,} "
                         f"and small sets read high ({ref})")
    return lines


def _evaluate_without_reference(samples: list, kind: str, dataset: str, validity: Optional[str], json_out: Optional[Path], *, reason: str) -> None:
    """Validity and uniqueness only (they need no reference data), after a one-line note."""
    typer.secho(f"note: showing validity and uniqueness only: {reason.rstrip('.')}", fg=typer.colors.YELLOW, err=True)
    if kind == "molecules":
        from .metrics import molecule_metrics

        result = molecule_metrics(samples, metrics=("validity", "uniqueness"))
        typer.echo(result.to_markdown())
        payload = result.to_dict()
    else:
        from .metrics.vun import vun_metrics

        vun = vun_metrics(samples, [], validity=validity or _nonempty)
        rows = [["valid" if validity else "non-empty", f"{vun.valid:.4f}"], ["unique", f"{vun.unique:.4f}"]]
        typer.echo(_table(rows, ["metric", "value"]))
        payload = {"values": {"valid": vun.valid, "unique": vun.unique}, "validity": validity or "non-empty", "n": len(samples)}
    if json_out is not None:
        json_out.write_text(json.dumps(payload, indent=2, default=str))
        typer.echo(f"wrote {json_out}")


def _nonempty(G: Any) -> bool:
    return G.number_of_nodes() > 0


# --------------------------------------------------------------------------- sample / train
@app.command()
def sample(
    model: str = typer.Option("qm9", "--model", "-m", help="Pretrained model name (see `graphdiff models`) or a folder written by save_pretrained. A bundled name always means the bundled model: write a local folder of the same name as a path (./qm9)."),
    n: int = typer.Option(100, "-n", help="Number of samples (>= 1)."),
    steps: Optional[int] = typer.Option(None, help="Sampling steps, >= 1 (default: the model card's)."),
    nfe: Optional[int] = typer.Option(None, help="Instead of --steps: a budget of network calls per sample (a predictor-corrector step makes several)."),
    sampler: Optional[str] = typer.Option(None, help="Sampler name (default: the model card's)."),
    seed: int = typer.Option(0, help="Random seed (>= 0). Chunk i is sampled with a seed derived from (seed, i), so a seed gives other samples than pipe.sample(n, seed=seed) in one piece, and than graphdiff sample before chunked writing."),
    device: str = typer.Option("auto", help="auto (cuda when PyTorch sees a GPU, else cpu), cpu, cuda or cuda:N."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file, format by suffix: .smi, .csv (SMILES, validity flags, logP, QED, weight) or .sdf for molecule models; .json, .graphml or .pt (PyG) for graph models. Default samples.smi / samples.json."),
    chunk_size: int = typer.Option(1000, "--chunk-size", min=1, help="Samples per chunk: each finished chunk is saved at once (atomically) in <out>.parts/, so a killed run loses at most one chunk."),
    resume: bool = typer.Option(False, "--resume", help="Continue a killed run into the same --out with the same settings: only the missing chunks are sampled, and the file is the one the uninterrupted run would have written."),
    nproc: int = typer.Option(1, min=1, help="Shard sampling over this many processes (results gathered in order)."),
    precision: str = typer.Option("auto", help="Network precision: float32 (exact), bfloat16 (faster on CPUs with bf16 instructions and on GPUs) or auto (bfloat16 where the hardware has them, else float32)."),
    option: Optional[list[str]] = typer.Option(None, "--option", help="Sampler option KEY=VALUE (repeatable; VALUE read as JSON, else text), e.g. --option temperature=0.8."),
    sort_sizes: bool = typer.Option(True, "--sort-sizes/--no-sort-sizes", help="Sample in order of graph size, so each batch is padded only to similar sizes (the default: much faster on wide size ranges; the output keeps draw order, but the samples differ from an unsorted run)."),
    condition: Optional[list[str]] = typer.Option(None, "--condition", help="Property target NAME=VALUE for a conditional model (repeatable), e.g. --condition logp=1.5 --condition qed=0.6 with -m qm9_cond."),
    guidance_scale: Optional[float] = typer.Option(None, "--guidance-scale", help="Classifier-free guidance scale with --condition: 0 unconditional, 1 conditional, larger steers harder (default: the model card's)."),
    scaffold: Optional[str] = typer.Option(None, "--scaffold", help="SMILES of a substructure every sample must contain (any molecule model), e.g. --scaffold c1ccncc1."),
    predictor: Optional[Path] = typer.Option(None, "--predictor", help="Folder of a noisy-graph property predictor trained for this model (graphdiff.guidance.predictor_training): steers any model towards the --condition entries it predicts."),
    candidates: int = typer.Option(1, "--candidates", help="Best-of-k with --condition (molecule models): draw this many candidates per molecule and keep the one whose RDKit properties are nearest the targets (valid without correction first). Costs k times the network calls; a selection step, not the model."),
    predictor_scale: Optional[float] = typer.Option(None, "--predictor-scale", help="Predictor guidance scale with --predictor: 0 unguided, 1 the predictor's p(y | G_t) as is, larger steers harder (default 1)."),
) -> None:
    """Sample molecules or graphs from a pretrained model into a file, chunk by chunk (flat memory; --resume continues a killed run)."""
    from .pipelines import load_pretrained
    from .pipelines.precision import PRECISIONS
    from .pipelines.streaming import sample_to_file

    if precision not in PRECISIONS + ("auto",):
        _fail(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS + ('auto',))}")
    from .pipelines.checks import check_device, resolve_device

    device = resolve_device(device)
    check_device(device)  # before anything reads it (auto precision, loading)
    if precision == "auto":  # resolved here, so a --resume run's settings name the precision used
        from .hardware import auto_precision

        precision = auto_precision(device)
    if n < 1:
        _fail(f"-n must be >= 1, got {n}")
    if steps is not None and steps < 1:
        _fail(f"--steps must be >= 1, got {steps} (leave it out for the model card's default)")
    if seed < 0:
        _fail(f"--seed must be >= 0, got {seed}")
    try:
        options = parse_key_values(option or [])
    except ValueError as exc:
        _fail(f"--option {exc}")
    targets = None
    if condition:
        targets = {}
        for item in condition:
            key, sep, value = item.partition("=")
            try:
                targets[key.strip()] = float(value)
            except ValueError:
                _fail(f"--condition takes NAME=NUMBER, got {item!r}")
            if not sep or not key.strip():
                _fail(f"--condition takes NAME=NUMBER, got {item!r}")
    pipe = load_pretrained(model, device=device)
    if out is None:
        out = Path("samples.smi" if pipe.vocabulary is not None else "samples.json")
    steer = {k: v for k, v in {"condition": targets, "guidance_scale": guidance_scale, "scaffold": scaffold,
                               "predictor": None if predictor is None else str(predictor),
                               "predictor_scale": predictor_scale, "candidates": None if candidates == 1 else candidates}.items()
             if v is not None}
    if steer:  # a bad condition or scaffold fails here (one error line), before anything is written
        pipe.sample(1, steps=1, sampler=sampler, sampler_options=options, **steer)
    try:
        result = sample_to_file(pipe, n, out, chunk_size=chunk_size, resume=resume, seed=seed, steps=steps, sampler=sampler,
                                nfe=nfe, nproc=nproc, precision=precision, sampler_options=options, sort_sizes=sort_sizes,
                                progress=True, **steer)
    except TypeError as exc:  # an option the sampler does not take
        if not options:
            raise
        _fail(f"{exc} (from --option {', '.join(options)})")
    typer.echo(result.summary())
    typer.echo(f"wrote {result.path}")


@app.command()
def train(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML file with the run's options (see configs/ for examples); optional with --smiles / --graphs / --dataset, where every option has a default."),
    smiles: Optional[Path] = typer.Option(None, "--smiles", help="Train on your own molecules: a .smi / .csv of SMILES (the atom types and charges are read from the file). Replaces the config's data source."),
    graphs: Optional[Path] = typer.Option(None, "--graphs", help="Train on your own graphs: a networkx node-link .json list. Replaces the config's data source."),
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="Train on a dataset by name (see `graphdiff datasets`). Replaces the config's data source."),
    family: Optional[str] = typer.Option(None, "--family", help="discrete (CTMC, the default) or continuous (SDE); overrides the config."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (overrides the config's `out`)."),
    steps: Optional[int] = typer.Option(None, help="Training steps (overrides the config)."),
    max_minutes: Optional[float] = typer.Option(
        None, "--max-minutes",
        help="Wall-clock budget: stop, checkpointed and saved, at the first step past it (overrides the config's "
             "train.max_minutes). The learning-rate schedule follows the steps, so size --steps to the budget."),
    device: Optional[str] = typer.Option(None, help="auto (the default: cuda when PyTorch sees a GPU, else cpu), cpu, cuda or cuda:N (overrides the config)."),
    nproc: int = typer.Option(1, min=1, help="Train with DistributedDataParallel over this many processes (gloo on CPU)."),
    init_from: Optional[str] = typer.Option(
        None, "--init-from", metavar="MODEL",
        help="Start from this pretrained model (bundled name or save_pretrained folder) instead of fresh weights: "
             "train it on, or fine-tune it on the config's data (overrides the config's `init_from`)."),
) -> None:
    """Train a model from your SMILES / graphs file, a dataset or a YAML config; checkpoints are
    written atomically and resumed automatically, and a finished run is reported as complete."""
    from .pipelines import train_from_options

    sources = {"smiles_file": smiles, "graphs_file": graphs, "dataset": dataset}
    given = {k: v for k, v in sources.items() if v is not None}
    if len(given) > 1:
        _fail("give one of --smiles, --graphs and --dataset")
    if config is None and not given:
        _fail("give the data to train on: --smiles my.smi, --graphs graphs.json or --dataset NAME (or --config run.yaml)")
    cfg = load_config(config) if config is not None else {}
    if given:
        for key in sources:
            cfg.pop(key, None)
        key, value = next(iter(given.items()))
        if key != "dataset" and not Path(value).is_file():
            _fail(f"file not found: {value}")
        cfg[key] = str(value)
        cfg.setdefault("out", f"runs/{Path(str(value)).name.split('.')[0]}")
    if family is not None:
        cfg["family"] = family
    if init_from is not None:
        cfg["init_from"] = init_from
    if out is not None:
        cfg["out"] = str(out)
    if steps is not None:
        cfg.setdefault("train", {})["steps"] = steps
    if max_minutes is not None:
        cfg.setdefault("train", {})["max_minutes"] = max_minutes
    if device is not None:
        cfg["device"] = device
    try:
        result = train_from_options(cfg, nproc=nproc)
    except (ValueError, TypeError) as exc:
        _fail(str(exc))
    if result is not None and os.environ.get("RANK", "0") == "0":  # under torchrun: rank 0 speaks
        typer.echo(str(result))


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
