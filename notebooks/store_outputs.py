"""Execute notebooks in fast mode (as CI does) and store their outputs, so the plots show on a code
host without running anything::

    python notebooks/store_outputs.py                      # every notebook
    python notebooks/store_outputs.py 03_generic_graphs    # some of them

Figures are stored as PNG at a moderate resolution (``figure.dpi`` 72; a PNG over 250 KB, such as a
spectrogram, as a JPEG) to keep each notebook small;
CI still executes every notebook (``make test`` runs nbmake, which does not rewrite them).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def store(path: Path, timeout: int = 1800) -> float:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}})
    t0 = time.perf_counter()
    client.execute()
    for cell in nb.cells:  # no run-specific noise in the stored file
        cell.get("metadata", {}).pop("execution", None)
        for out in cell.get("outputs", []):
            _shrink(out.get("data", {}))
    nbformat.write(nb, path)
    return time.perf_counter() - t0


def _shrink(data: dict) -> None:
    """A PNG over ``MAX_PNG`` bytes (a spectrogram, a dense image grid) is stored as a JPEG instead."""
    import base64
    import io

    png = data.get("image/png")
    if png is None or len(base64.b64decode(png)) <= MAX_PNG:
        return
    from PIL import Image

    buf = io.BytesIO()
    Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB").save(buf, format="JPEG", quality=80)
    del data["image/png"]
    data["image/jpeg"] = base64.b64encode(buf.getvalue()).decode()


MAX_PNG = 250_000


def main(names: list[str]) -> None:
    os.environ["GRAPHDIFF_FAST"] = "1"
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures become stored PNGs
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # a small dpi for stored figures: read by the inline backend at kernel start
    os.environ["MPLCONFIGDIR"] = str(_mpl_config())
    paths = [HERE / (n if n.endswith(".ipynb") else n + ".ipynb") for n in names] or sorted(HERE.glob("*.ipynb"))
    for p in paths:
        seconds = store(p)
        print(f"{p.name}: executed in {seconds:.0f} s, {p.stat().st_size / 1024:.0f} KB stored")


def _mpl_config() -> Path:
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="graphdiff-mpl-"))
    (d / "matplotlibrc").write_text("figure.dpi: 72\nsavefig.dpi: 72\n")
    return d


if __name__ == "__main__":
    main(sys.argv[1:])
