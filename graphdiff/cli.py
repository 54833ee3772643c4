"""The ``graphdiff`` command line: ``train``, ``sample``, ``evaluate``, ``datasets``, ``models``.

This is the only code in graphdiff that parses configuration files (YAML, passed with
``--config``); everything else takes explicit keyword arguments.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from .errors import GraphdiffError

app = typer.Typer(
    name="graphdiff",
    help=(
        "Diffusion models for graphs and molecules.\n\n"
        "Typical use:\n\n"
        "  graphdiff datasets                      # what data is available\n\n"
        "  graphdiff models                        # pretrained models shipped with the package\n\n"
        "  graphdiff sample --model qm9 -n 100 -o mols.smi\n\n"
        "  graphdiff evaluate mols.smi --dataset qm9\n\n"
        "  graphdiff train --config my_run.yaml"
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
    """Read a YAML config file into a dict (clear errors for missing files and bad YAML)."""
    import yaml

    if not path.exists():
        _fail(f"config file not found: {path}")
    try:
        cfg = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        _fail(f"config file {path} is not valid YAML: {exc}")
    if cfg is None:
        return {}
    if not isinstance(cfg, dict):
        _fail(f"config file {path} must hold a mapping of option: value, got {type(cfg).__name__}")
    return cfg


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
    rows = [[m["name"], m.get("family", ""), m.get("dataset", ""), m.get("measured", "")] for m in names]
    typer.echo(_table(rows, ["name", "family", "dataset", "measured at the default sampler (see --json for the cards)"]))


# --------------------------------------------------------------------------- evaluate
def _read_smiles(path: Path) -> list[str]:
    from .data import read_smiles_file

    return read_smiles_file(path)


def _read_graphs(path: Path, trust_pickle: bool) -> list:
    import networkx as nx

    if path.suffix == ".json":
        items = json.loads(path.read_text())
        return [nx.node_link_graph(d, edges="links") for d in items]
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
) -> None:
    """Evaluate generated molecules or graphs against a dataset split and print a table."""
    from .data import get_card, load

    if not generated.exists():
        _fail(f"file not found: {generated}")
    try:
        card = get_card(dataset)
    except ValueError as exc:
        _fail(str(exc))
    # read the user's file first: its errors are the cheapest to report
    samples = _read_smiles(generated) if card.kind == "molecules" else _read_graphs(generated, trust_pickle)
    try:
        ds = load(dataset, root=root)
        if split not in ds.splits:
            _fail(f"dataset {dataset!r} has no split {split!r}; valid splits: {', '.join(ds.splits)}")
    except (GraphdiffError, FileNotFoundError) as exc:
        _fail(str(exc))
    if card.kind == "molecules":
        from .metrics import molecule_metrics

        result = molecule_metrics(samples, train_smiles=ds.smiles("train"), test_smiles=ds.smiles(split))
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
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result.to_dict(), indent=2, default=str))
        typer.echo(f"wrote {json_out}")


# --------------------------------------------------------------------------- sample / train
@app.command()
def sample(
    model: str = typer.Option("qm9", "--model", "-m", help="Pretrained model name (see `graphdiff models`) or a folder written by save_pretrained."),
    n: int = typer.Option(100, "-n", help="Number of samples."),
    steps: Optional[int] = typer.Option(None, help="Sampling steps (default: the model card's)."),
    nfe: Optional[int] = typer.Option(None, help="Instead of --steps: a budget of network calls per sample (a predictor-corrector step makes several)."),
    sampler: Optional[str] = typer.Option(None, help="Sampler name (default: the model card's)."),
    seed: int = typer.Option(0, help="Random seed."),
    device: str = typer.Option("cpu", help="cpu or cuda."),
    out: Path = typer.Option(Path("samples.smi"), "--out", "-o", help="Output: .smi for molecules, .json for graphs."),
    nproc: int = typer.Option(1, min=1, help="Shard sampling over this many processes (results gathered in order)."),
    precision: str = typer.Option("float32", help="Network precision: float32 (exact) or bfloat16 (faster on CPUs with bf16 instructions and on GPUs)."),
    option: Optional[list[str]] = typer.Option(None, "--option", help="Sampler option KEY=VALUE (repeatable; VALUE read as JSON, else text), e.g. --option temperature=0.8."),
    sort_sizes: bool = typer.Option(False, "--sort-sizes", help="Sample in order of graph size, so each batch is padded only to similar sizes (much faster on wide size ranges; the output keeps draw order, but the samples differ from an unsorted run)."),
) -> None:
    """Sample molecules or graphs from a pretrained model and write them to a file."""
    from .pipelines import load_pretrained
    from .pipelines.precision import PRECISIONS

    if precision not in PRECISIONS:
        _fail(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    try:
        options = parse_key_values(option or [])
    except ValueError as exc:
        _fail(f"--option {exc}")
    try:
        pipe = load_pretrained(model, device=device)
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    try:
        result = pipe.sample(n, steps=steps, sampler=sampler, seed=seed, progress=True, nproc=nproc, precision=precision,
                             sampler_options=options, sort_sizes=sort_sizes, nfe=nfe)
    except ValueError as exc:
        if nfe is None:
            raise
        _fail(str(exc))
    except TypeError as exc:  # an option the sampler does not take
        if not options:
            raise
        _fail(f"{exc} (from --option {', '.join(options)})")
    out.parent.mkdir(parents=True, exist_ok=True)
    result.save(out)
    typer.echo(result.summary())
    typer.echo(f"wrote {out}")


@app.command()
def train(
    config: Path = typer.Option(..., "--config", "-c", help="YAML file with the run's options (see configs/ for examples)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (overrides the config's `out`)."),
    steps: Optional[int] = typer.Option(None, help="Training steps (overrides the config)."),
    max_minutes: Optional[float] = typer.Option(
        None, "--max-minutes",
        help="Wall-clock budget: stop, checkpointed and saved, at the first step past it (overrides the config's "
             "train.max_minutes). The learning-rate schedule follows the steps, so size --steps to the budget."),
    device: Optional[str] = typer.Option(None, help="cpu or cuda (overrides the config)."),
    nproc: int = typer.Option(1, min=1, help="Train with DistributedDataParallel over this many processes (gloo on CPU)."),
    init_from: Optional[str] = typer.Option(
        None, "--init-from", metavar="MODEL",
        help="Start from this pretrained model (bundled name or save_pretrained folder) instead of fresh weights: "
             "train it on, or fine-tune it on the config's data (overrides the config's `init_from`)."),
) -> None:
    """Train a model from a YAML config; checkpoints are written atomically and resumed automatically."""
    from .pipelines import train_from_options

    cfg = load_config(config)
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
    typer.echo(str(result))


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
