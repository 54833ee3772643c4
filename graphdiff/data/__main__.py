"""``python -m graphdiff.data write-cards [folder]``: regenerate the markdown dataset cards
(default folder ``datasets``); ``python -m graphdiff.data list``: print the registered datasets."""

from __future__ import annotations

import sys

from .registry import list_datasets, write_card_markdown


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["write-cards"]:
        for p in write_card_markdown(args[1] if len(args) > 1 else "datasets"):
            print(p)
        return 0
    if args[:1] in (["list"], []):
        for d in list_datasets():
            print(f"{d['name']:22s} {d['kind']:10s} " + ", ".join(f"{k} {v:,}" for k, v in d["splits"].items()))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
