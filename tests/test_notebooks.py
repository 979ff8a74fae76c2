"""The teaching notebooks (docs/notebooks/) run from top to bottom, in FAST mode, as a class
would run them, and are committed with outputs that read well unexecuted.

FAST mode (``MBO_FAST=1``, read in each notebook's first cell) shrinks every study to seconds;
the notebooks run in one working folder, in order, so notebooks 2 and 3 re-open the car study
notebook 1 ran (as they do for a student). Needs ``nbclient``, ``nbformat`` and ``ipykernel``:
the execution tests are skipped with that reason where they are missing.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "docs" / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("[0-9][0-9]_*.ipynb"))
#: seconds one cell may take in FAST mode, and the whole notebook
CELL_TIMEOUT = 240
NOTEBOOK_TIMEOUT = 420
#: the committed notebooks stay small enough to review and to diff
MAX_NOTEBOOK_BYTES = 2_500_000
MAX_IMAGE_BYTES = 400_000


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


MISSING = [m for m in ("nbformat", "nbclient", "ipykernel") if not _importable(m)]
needs_jupyter = pytest.mark.skipif(
    bool(MISSING),
    reason=f"executing notebooks needs {', '.join(MISSING)} (pip install nbclient nbformat ipykernel)",
)


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _outputs(nb: dict, kind: str | None = None):
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if kind is None or out.get("output_type") == kind:
                yield cell, out


def test_the_five_notebooks_are_there():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_reads_well_unexecuted(path):
    """Committed with outputs: every code cell ran, no errors, figures inline as modest PNGs,
    no forced backend, the FAST switch read in the first cell."""
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES, f"{path.name} is {path.stat().st_size} bytes"
    nb = _load(path)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    first = "".join(code[0]["source"])
    assert 'os.environ.get("MBO_FAST"' in first and "%matplotlib inline" in first
    for cell in code:
        src = "".join(cell["source"])
        assert "matplotlib.use(" not in src and "MPLBACKEND" not in src, src[:200]
        assert cell.get("execution_count"), f"{path.name}: a code cell was not run:\n{src[:200]}"
    assert not list(_outputs(nb, "error")), f"{path.name} was committed with an error"
    images = [
        out["data"]["image/png"] for _, out in _outputs(nb) if "image/png" in out.get("data", {})
    ]
    assert images, f"{path.name} shows no figure"
    for image in images:
        data = base64.b64decode(image if isinstance(image, str) else "".join(image))
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < MAX_IMAGE_BYTES
    for _, out in _outputs(nb, "stream"):
        text = "".join(out["text"])
        assert "\r" not in text, "progress bars are collapsed before committing"
        assert "Traceback" not in text


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One working folder for all notebooks (they share run folders, in order), and a kernel
    spec that runs this interpreter (not whatever "python3" means elsewhere)."""
    root = tmp_path_factory.mktemp("notebooks")
    spec = root / "jupyter" / "kernels" / "mbo-tests"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "mbo tests",
                "language": "python",
            }
        )
    )
    work = root / "work"
    work.mkdir()
    return root


@needs_jupyter
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_fast_mode(path, workdir, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("MBO_FAST", "1")
    monkeypatch.setenv("JUPYTER_PATH", str(workdir / "jupyter"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        startup_timeout=120,
        kernel_name="mbo-tests",
        resources={"metadata": {"path": str(workdir / "work")}},
    )
    t = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    seconds = time.perf_counter() - t
    assert seconds < NOTEBOOK_TIMEOUT, f"{path.name} took {seconds:.0f} s in FAST mode"
    text = "".join(
        "".join(out.get("text", "")) for cell in nb.cells for out in cell.get("outputs", [])
    )
    assert "FAST mode" in text  # the switch reached the kernel
    shown = sum(
        "image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", [])
    )
    assert shown >= 1, f"{path.name}: figures did not render inline"
    print(f"{path.name}: {seconds:.1f} s in FAST mode")
