"""Execute the teaching notebooks in place, with their outputs kept small enough to commit.

    python docs/notebooks/run_notebooks.py                      # the project's defaults
    MBO_FAST=1 python docs/notebooks/run_notebooks.py           # tiny settings, seconds each
    python docs/notebooks/run_notebooks.py 02_why_linear.ipynb  # one notebook

Each notebook runs with this folder as its working directory, as Jupyter would run it; its
run folders and pictures go to ``docs/notebooks/runs/`` (ignored by git), and notebooks 2-4
re-open the car study notebook 1 ran instead of running it again. Progress bars are collapsed
to their last state (what Jupyter shows once a cell is done); the run time of each notebook
and of its slowest cells is printed. Needs ``nbclient``, ``nbformat`` and ``ipykernel`` (``pip install nbclient nbformat
ipykernel``).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: the notebooks, in the lecture's order
NOTEBOOKS = sorted(p.name for p in HERE.glob("[0-9][0-9]_*.ipynb"))


def collapse(text: str) -> str:
    """A stream's text as a terminal shows it: each line keeps only what follows its last
    carriage return (progress bars redraw their line with ``\\r``); blank lines left by
    finished bars are dropped."""
    lines = []
    for line in text.split("\n"):
        kept = line.rsplit("\r", 1)[-1]
        lines.append(kept)
    out = "\n".join(lines)
    return re.sub(r"\n(?:[ \t]*\n)+", "\n", out).lstrip("\n")


def clean(nb) -> list[tuple[float, int]]:
    """Merge consecutive stream outputs, collapse their progress bars, drop streams left
    empty and the execution timestamps; returns ``(seconds, cell number)`` per code cell."""
    from datetime import datetime

    timings = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        ex = cell.metadata.pop("execution", {})
        if "iopub.execute_input" in ex and "shell.execute_reply" in ex:
            t0, t1 = (
                datetime.fromisoformat(ex[k].replace("Z", "+00:00"))
                for k in ("iopub.execute_input", "shell.execute_reply")
            )
            timings.append(((t1 - t0).total_seconds(), i))
        outputs: list = []
        for out in cell.get("outputs", []):
            prev = outputs[-1] if outputs else None
            if (
                out.get("output_type") == "stream"
                and prev is not None
                and prev.get("output_type") == "stream"
                and prev.get("name") == out.get("name")
            ):
                prev["text"] += out["text"]
                continue
            outputs.append(out)
        for out in outputs:
            if out.get("output_type") == "stream":
                out["text"] = collapse(out["text"])
        cell["outputs"] = [
            o for o in outputs if o.get("output_type") != "stream" or o["text"].strip()
        ]
    return timings


def run(name: str, timeout: int = 1800) -> tuple[float, list[tuple[float, int]]]:
    """Execute one notebook in place; returns its wall time in seconds and the code cells'
    ``(seconds, cell number)``."""
    import nbformat
    from nbclient import NotebookClient

    path = HERE / name
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
    )
    t = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - t
    timings = clean(nb)
    nbformat.write(nb, path)
    return seconds, timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", default=NOTEBOOKS, help="default: all")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args(argv)
    for name in args.notebooks:
        seconds, timings = run(Path(name).name, args.timeout)
        size = (HERE / Path(name).name).stat().st_size / 1e6
        slow = ", ".join(f"cell {i}: {s:.0f} s" for s, i in sorted(timings, reverse=True)[:3])
        print(f"{name}: {seconds:.0f} s, {size:.2f} MB (slowest: {slow})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
