"""The orchestration layers stay readable: no function of the kernel, the use cases, the
wiring, the stores or the faces runs over 60 lines or takes more than 8 parameters (a
command's parameters are its options and do not count). Computation kernels (Numba,
feature scans) and adapters are not held to it."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "tradeloop"
HELD = (
    "api",
    "bootstrap",
    "cli",
    "ops",
    "usecases",
    "registry",
    "store/sql",
    "execution/kernel.py",
    "execution/backtest.py",
    "execution/session.py",
    "execution/engine.py",
)
MAX_LINES, MAX_PARAMS = 60, 8


def _held_files() -> list[Path]:
    files: list[Path] = []
    for held in HELD:
        path = SRC / held
        files += [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))
    return files


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring does not count
    return (node.end_lineno or node.lineno) - body[0].lineno + 1


def _params(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    args = node.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    return len([n for n in names if n not in ("self", "cls")])


def test_orchestration_functions_when_measured_then_short_with_few_parameters() -> None:
    offenders = []
    for path in _held_files():
        command_module = path.parent.name == "cli"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            where = f"{path.relative_to(SRC)}:{node.lineno} {node.name}"
            if _body_lines(node) > MAX_LINES:
                offenders.append(f"{where}: {_body_lines(node)} lines")
            if _params(node) > MAX_PARAMS and not command_module:
                offenders.append(f"{where}: {_params(node)} parameters")
    assert offenders == []
