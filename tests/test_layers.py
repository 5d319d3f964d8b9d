"""The package's layers point one way: no import cycle among ganlab's modules (module-level and function-local
imports alike), and the leaf ``ganlab.errors`` imports nothing heavier than the standard library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ganlab"


def import_graph() -> dict[str, set[str]]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_in_the_package():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = import_graph()
    graph["ganlab.errors"].add("ganlab.config")  # config imports errors: this closes a loop
    assert any({"ganlab.errors", "ganlab.config"} <= set(c) for c in cycles(graph))


def test_the_leaf_imports_only_the_standard_library():
    heavy = "{'torch', 'hydra', 'omegaconf', 'pytorch_lightning', 'ganlab'}"
    code = f"import sys, ganlab.errors; print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['ganlab', 'ganlab.errors']"


def test_every_leaf_imports_only_the_standard_library():
    for leaf in ("ganlab.errors", "ganlab.runtime", "ganlab.options"):
        heavy = "{'torch', 'hydra', 'omegaconf', 'pytorch_lightning', 'ganlab'}"
        code = f"import sys, {leaf}; print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.strip() == str(["ganlab", leaf]), (leaf, out)


#: What a fast answer must not load (torch itself is allowed: the target is "import torch + 1 s").
HEAVY = ("pytorch_lightning", "lightning_fabric", "torchmetrics", "torchvision", "wandb")
FAST_ANSWERS = [
    ("ganlab.train", ["loss=bogus"], 2),
    ("ganlab.train", ["optim.generator.lr=-1"], 2),
    ("ganlab.train", ["seed=abc"], 2),
    ("ganlab.train", ["callbacks.divergence.policy=maybe"], 2),
    ("ganlab.train", ["--help"], 0),
    ("ganlab.train", ["--cfg", "job"], 0),
    ("ganlab.evaluate", ["--help"], 0),
    ("ganlab.evaluate", ["ckpt=x.ckpt", "n_samples=0"], 2),
    ("ganlab.latent.cli", ["--help"], 0),
    ("ganlab.latent.cli", ["ckpt=x.ckpt", "n_images=0"], 2),
]


@pytest.mark.parametrize(("module", "argv", "code"), FAST_ANSWERS, ids=[" ".join(a) for _, a, _ in FAST_ANSWERS])
def test_config_errors_help_and_cfg_load_no_heavy_library(tmp_path, module, argv, code):
    """Issue #18: a mistake, ``--help`` and ``--cfg job`` are answered without Lightning, torchmetrics, torchvision
    or wandb (each of those costs seconds of imports)."""
    script = (
        "import sys, importlib\n"
        f"sys.argv = ['prog', *{argv!r}]\n"
        "try:\n"
        f"    importlib.import_module({module!r}).main()\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "else:\n"
        "    code = 0\n"
        f"print('LOADED', sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})), 'CODE', code)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert f"LOADED [] CODE {code}" in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]
