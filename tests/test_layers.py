"""The package's layers point one way: no import cycle among ganlab's modules (module-level and function-local
imports alike), imports point down the layers (folders), and the leaves (``ganlab/common/``) import nothing
heavier than the standard library."""

from __future__ import annotations

import ast
import json
import re
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
    graph["ganlab.common.errors"].add("ganlab.preflight.command_line")  # config imports errors: this closes a loop
    assert any({"ganlab.common.errors", "ganlab.preflight.command_line"} <= set(c) for c in cycles(graph))


def test_every_leaf_imports_only_the_standard_library():
    leaves = sorted(p.stem for p in (PACKAGE / "common").glob("*.py") if p.stem != "__init__")
    assert leaves == ["durable", "errors", "options", "path_args", "run_state", "runtime", "validators"]
    for leaf in (f"ganlab.common.{name}" for name in leaves):
        heavy = "{'torch', 'hydra', 'omegaconf', 'pytorch_lightning', 'ganlab'}"
        code = f"import sys, {leaf}; print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy}))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.strip() == str(["ganlab", "ganlab.common", leaf]), (leaf, out)


#: What a fast answer must not load (torch itself is allowed: the target is "import torch + 1 s").
HEAVY = ("pytorch_lightning", "lightning_fabric", "torchmetrics", "torchvision", "wandb")
FAST_ANSWERS = [
    ("ganlab.cli.train", ["loss=bogus"], 2),
    ("ganlab.cli.train", ["optim.generator.lr=-1"], 2),
    ("ganlab.cli.train", ["seed=abc"], 2),
    ("ganlab.cli.train", ["callbacks.divergence.policy=maybe"], 2),
    ("ganlab.cli.train", ["--help"], 0),
    ("ganlab.cli.train", ["--cfg", "job"], 0),
    ("ganlab.cli.evaluate", ["--help"], 0),
    ("ganlab.cli.evaluate", ["ckpt=x.ckpt", "n_samples=0"], 2),
    ("ganlab.cli.latent", ["--help"], 0),
    ("ganlab.cli.latent", ["ckpt=x.ckpt", "n_images=0"], 2),
    ("ganlab.cli.train", ["ckpt_path=missing.ckpt"], 2),
    ("ganlab.cli.train", ["ckpt_path=last"], 2),
    ("ganlab.cli.evaluate", ["ckpt=missing.ckpt"], 2),
    ("ganlab.cli.latent", ["task=invert", "ckpt=missing.ckpt"], 2),
]


@pytest.fixture(scope="module")
def fast_answers(tmp_path_factory) -> list[dict]:
    """Every case of ``FAST_ANSWERS`` in order, in one fresh interpreter (one torch import, not one per case): its
    exit code and the heavy libraries loaded once it was answered. A case that loads one shows it in its own record
    (and every later case's: the first failing case is the culprit)."""
    script = (
        "import sys, importlib, json\n"
        f"for module, argv, _ in {FAST_ANSWERS!r}:\n"
        "    sys.argv = ['prog', *argv]\n"
        "    try:\n"
        "        importlib.import_module(module).main()\n"
        "    except SystemExit as exc:\n"
        "        code = exc.code\n"
        "    else:\n"
        "        code = 0\n"
        f"    loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "    print('ANSWER', json.dumps({'code': code, 'loaded': loaded}), flush=True)\n"
    )
    cwd = tmp_path_factory.mktemp("fast_answers")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, timeout=300)
    answers = [json.loads(line.split(" ", 1)[1]) for line in result.stdout.splitlines() if line.startswith("ANSWER ")]
    assert len(answers) == len(FAST_ANSWERS), result.stdout[-2000:] + result.stderr[-2000:]
    return answers


@pytest.mark.parametrize("case", range(len(FAST_ANSWERS)), ids=[" ".join(a) for _, a, _ in FAST_ANSWERS])
def test_config_errors_help_and_cfg_load_no_heavy_library(fast_answers, case):
    """Issue #18: a mistake, ``--help`` and ``--cfg job`` are answered without Lightning, torchmetrics, torchvision
    or wandb (each of those costs seconds of imports); issue #20: so is a checkpoint that does not exist."""
    assert fast_answers[case] == {"code": FAST_ANSWERS[case][2], "loaded": []}


#: Each module's layer, by its folder; everything outside these folders is the core.
LAYERS = {"ganlab.common": 0, "ganlab.composition": 2, "ganlab.preflight": 3, "ganlab.cli": 4}
CORE = 1


def layer(module: str) -> int:
    """The package root is the public API's façade (``ganlab.load``): the top layer, which no module imports."""
    if module == "ganlab":
        return max(LAYERS.values())
    return next((rank for prefix, rank in LAYERS.items() if module == prefix or module.startswith(prefix + ".")), CORE)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Imports from a module to a higher layer (leaves → core → composition → preflight → entry points), and any
    import of ganlab by a leaf (the package root's ``__init__`` aside)."""
    bad = []
    for module, targets in graph.items():
        for target in targets:
            if target == "ganlab":
                continue
            if layer(target) > layer(module) or (layer(module) == 0 and layer(target) != 0):
                bad.append(f"{module} -> {target}")
    return sorted(bad)


def test_imports_point_down_the_layers():
    assert upward_imports(import_graph()) == []


def test_the_layer_check_finds_a_planted_upward_import():
    graph = import_graph()
    graph["ganlab.modules.gan"].add("ganlab.composition.build")
    graph["ganlab.composition.build"].add("ganlab.preflight.rules")
    assert upward_imports(graph) == [
        "ganlab.composition.build -> ganlab.preflight.rules",
        "ganlab.modules.gan -> ganlab.composition.build",
    ]


def test_every_file_the_architecture_document_names_exists():
    """docs/ARCHITECTURE.md promises that every file it names exists: full paths, and the files listed under a
    folder heading of its layer diagram."""
    root = PACKAGE.parent
    text = (root / "docs" / "ARCHITECTURE.md").read_text()
    named = set(re.findall(r"\b((?:ganlab|conf|tests|experiments|docs)/[\w/]+(?:\.py|\.yaml|\.md)?)", text))
    folder = None
    for line in text.split("\n"):
        heading = re.search(r"^\w.*?\s(ganlab/(?:\w+/)?)\s", line)
        if heading:
            folder = heading.group(1)
        elif folder and (item := re.match(r"^  (\w+\.py)\s", line)):
            named.add(folder + item.group(1))
    missing = sorted(p for p in named if not (root / p).exists() and not (root / f"{p}.py").exists())
    assert len(named) > 40
    assert missing == []
