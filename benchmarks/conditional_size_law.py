"""Refit a conditional molecule model's graph-size law p(N | y) with the classifier
(:class:`graphdiff.guidance.NeuralNodeCounts`) and save the model with it (weights untouched).

The joint quantile bins that conditional models were trained with blur the size law once there
are several continuous entries; a molecule of the wrong size cannot reach its weight, whatever
the network does. This script refits the law on the dataset's training split (conditions
computed with RDKit through the property cache, sizes = the encoded graphs' atom counts, the same
molecules training kept), prints how much probability each law gives the test targets' own
sizes, and writes the refitted model; the MAE rows are then `conditional_qm9.py --part main
--model OUT`.

    python benchmarks/conditional_size_law.py --model qm9_cond --out runs/qm9_cond_mlp_sizes
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conditional_qm9 import targets  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="qm9_cond")
    p.add_argument("--dataset", default="qm9")
    p.add_argument("--out", required=True, help="folder for the refitted model (save_pretrained)")
    p.add_argument("--size-law", default="mlp", choices=["mlp", "bins"])
    p.add_argument("--targets", type=int, default=100, help="test targets for the size diagnostic (seed 0)")
    p.add_argument("--max-train", type=int, default=None,
                   help="fit on the first k training molecules (as a training config's max_train)")
    args = p.parse_args()
    torch.set_num_threads(1)

    import graphdiff
    from graphdiff.data import load
    from graphdiff.data.molecules import smiles_to_state
    from graphdiff.data.properties import cached_properties
    from graphdiff.guidance import refit_size_law
    from graphdiff.guidance.node_counts import node_counts_from_dict
    from graphdiff.guidance.training import condition_spec

    pipe = graphdiff.load_pretrained(args.model)
    spec = condition_spec(pipe)
    if spec is None or any(e.kind != "property" for e in spec.entries):
        raise SystemExit(f"error: {args.model} is not conditioned on RDKit properties only")
    names = spec.names
    train = load(args.dataset).smiles("train")
    if args.max_train is not None:
        train = train[: args.max_train]
    enc = smiles_to_state(train, pipe.vocabulary, max_atoms=pipe.node_counts.max_nodes, on_unknown="skip",
                          on_too_large="skip", warn=False)
    values = cached_properties([train[i] for i in enc.indices], names, progress=True)
    sizes = enc.state.node_mask.sum(-1)
    old = node_counts_from_dict(spec.extra["node_counts"])
    refit_size_law(pipe, values, sizes, size_law=args.size_law)
    new = node_counts_from_dict(pipe.card["condition"]["node_counts"])

    # how much probability each law gives the test targets' own sizes
    smiles, tv = targets(0, args.targets, args.dataset)
    tenc = smiles_to_state(smiles, pipe.vocabulary, max_atoms=pipe.node_counts.max_nodes, on_unknown="skip",
                           on_too_large="skip", warn=False)
    own = tenc.state.node_mask.sum(-1)
    rows = tv[tenc.indices]
    report = {"targets": len(own), "train_graphs": len(sizes), "size_law": args.size_law}
    for label, law in (("before", old), ("after", new)):
        p_own = law.probs(rows)[torch.arange(len(own)), own]
        report[label] = {"kind": type(law).__name__, "mean_p_own_size": round(float(p_own.mean()), 4),
                         "min_p_own_size": round(float(p_own.min()), 4)}
    print(json.dumps(report, indent=1))
    out = Path(args.out)
    pipe.save_pretrained(out)
    (out / "size_law.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
