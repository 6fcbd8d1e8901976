"""The library's layout holds: one package per stage, imports only from earlier stages and the shared
modules (so no circles), no module over 400 lines and no function over 60 (README: Layout)."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "ragft"
# each stage may import the shared modules and the stages before it, never one after it
ORDER = ["ingest", "qa", "models", "retrieval", "finetune", "evaluate", "report"]
SHARED = {"config", "jsonl", "logs", "prompts", "answers", "sentences"}
TOP = {"ask", "cli", "demo_data", "estimate"}  # users of the stages, imported by none of them


def modules():
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        yield ".".join(p for p in parts if p != "__init__"), path


def imported(path):
    """The ragft modules a file imports (at any depth: lazy imports count too)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "ragft":
            rest = node.module.split(".")[1:]
            yield from ([".".join(rest)] if rest else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            yield from (a.name.split(".", 1)[1] for a in node.names if a.name.startswith("ragft."))


def rank(module):
    top = module.split(".")[0]
    if top in SHARED or module == "":  # "": the package's own __init__, which may import shared modules only
        return -1
    return len(ORDER) if top in TOP else ORDER.index(top)


def test_stages_import_only_earlier_stages_and_shared_modules():
    bad = []
    for name, path in modules():
        for target in imported(path):
            same_stage = target.split(".")[0] == name.split(".")[0]
            if not same_stage and rank(target) >= max(rank(name), 0) and name.split(".")[0] not in TOP:
                bad.append(f"{name} -> {target}")
    assert bad == []


def test_no_import_circles():
    graph = {name: {t for t in imported(path)} for name, path in modules()}
    seen, stack = set(), []

    def visit(node):
        if node in stack:
            return stack[stack.index(node):] + [node]
        if node in seen:
            return None
        seen.add(node)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            cycle = visit(nxt)
            if cycle:
                return cycle
        stack.pop()
        return None

    assert [c for c in (visit(n) for n in sorted(graph)) if c] == []


@pytest.mark.parametrize("name,path", list(modules()), ids=[n for n, _ in modules()])
def test_modules_and_functions_stay_short(name, path):
    text = path.read_text()
    assert len(text.splitlines()) <= 400
    long = [f"{n.name}: {n.end_lineno - n.lineno + 1} lines" for n in ast.walk(ast.parse(text))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 60]
    assert long == []


def test_the_library_never_imports_the_scripts():
    import re

    assert [name for name, path in modules() if re.search(r"^\s*(from|import) scripts\b|runpy", path.read_text(), re.M)] == []


def test_the_order_check_flags_a_later_stage():
    # what the first test would report: a model builder reaching into fine-tuning or evaluation
    assert rank("finetune.batches") > rank("models.tiny") and rank("evaluate.answer") > rank("retrieval.hybrid")
    assert rank("prompts") < rank("ingest.run")
