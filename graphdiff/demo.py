"""``make demo``: generate molecules with the bundled default model and write SMILES, a PNG grid
and a metrics table."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("graphdiff demo: the bundled pretrained model is not shipped yet (see issue 7).", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
