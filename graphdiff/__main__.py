"""``python -m graphdiff ...`` runs the command line (as ``torchrun -m graphdiff train ...`` needs)."""

from __future__ import annotations

from .cli import app

if __name__ == "__main__":
    app(prog_name="graphdiff")
