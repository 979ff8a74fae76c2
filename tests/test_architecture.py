"""The shape of the code: one-way imports, no cycles, every module importable on its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mbo", "domains", "surrogates")
#: mbo's subpackages from bottom to top: a module may import only its own layer or lower ones
LAYERS = ("registry", "optimizers", "evaluation", "study", "sweeps", "reporting", "cli")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom) -> list[str]:
    """Project modules named by ``from X import a, b`` in ``module`` (relative or absolute)."""
    if node.level:
        is_pkg = MODULES[module].name == "__init__.py"
        base = module.split(".")
        base = base if is_pkg else base[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    names = [f"{target}.{a.name}" for a in node.names]
    found = [n for n in names if n in MODULES]  # `from pkg import submodule`
    if len(found) == len(names):
        return found
    return found + ([target] if target in MODULES else [])


def _imports(module: str) -> list[tuple[str, bool]]:
    """``(imported project module, at module level)`` for every import in ``module``."""
    tree = ast.parse(MODULES[module].read_text())
    top = set(map(id, tree.body))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name in MODULES]
        elif isinstance(node, ast.ImportFrom):
            targets = _resolve(module, node)
        else:
            continue
        out += [(t, id(node) in top) for t in targets]
    return out


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "mbo" or len(parts) < 2:
        return None
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else None


def test_imports_point_one_way():
    bad = []
    for module in MODULES:
        root = module.split(".")[0]
        for target, _ in _imports(module):
            troot = target.split(".")[0]
            if root in ("domains", "surrogates") and troot != root:
                bad.append(f"{module} -> {target} (domains and surrogates import no other package)")
            lm, lt = _layer(module), _layer(target)
            if lm is not None and lt is not None and lt > lm:
                bad.append(f"{module} -> {target} (imports upward)")
            if root == "mbo" and target == "mbo" and module != "mbo":
                bad.append(f"{module} -> mbo (import the subpackage, not the lazy top level)")
    assert not bad, "\n".join(bad)


def test_no_import_cycle():
    """Deferred (function-level) imports count as if hoisted: none may hide a cycle."""
    graph = {m: {t for t, _ in _imports(m) if t != m} for m in MODULES}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycle = stack[stack.index(t) :] + [t]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_mbo_defers_project_imports_only_in_the_cli():
    """Inside ``mbo`` only the CLI defers imports (so ``mbo --help`` starts without torch)."""
    bad = [
        f"{m} -> {t}"
        for m in MODULES
        if m.startswith("mbo.") and not m.startswith("mbo.cli")
        for t, top in _imports(m)
        if not top and m != "mbo"
    ]
    assert not bad, "\n".join(bad)


def test_every_module_imports_on_its_own():
    """Each module imports in an interpreter where no other project module was imported
    (one subprocess; project modules are dropped from ``sys.modules`` between imports)."""
    script = f"""
import importlib, sys, traceback
bad = []
for name in {sorted(MODULES)!r}:
    for key in [k for k in sys.modules if k.split(".")[0] in {PACKAGES!r}]:
        del sys.modules[key]
    try:
        importlib.import_module(name)
    except Exception:
        bad.append(name + ": " + traceback.format_exc().splitlines()[-1])
print("\\n".join(bad))
sys.exit(1 if bad else 0)
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]


def test_optimizers_share_one_prologue_and_one_registry_exists():
    """No optimizer repeats the base class's ``run`` prologue; no second registry."""
    for path in (ROOT / "mbo" / "optimizers").glob("*.py"):
        if path.name in ("_base.py", "__init__.py"):
            continue
        text = path.read_text()
        assert "def run(" not in text and "space.check(" not in text, path.name
    registries = [
        str(p.relative_to(ROOT))
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("*.py")
        if "class Registry" in p.read_text() or "_REGISTRY" in p.read_text()
    ]
    assert registries == ["mbo/registry.py"], registries
