"""The research config tree: the project's examples are valid; each kind of mistake is
reported as file:line: key: reason with a fix, every one of the tree at once; the sweep
expands the same way every time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tradeloop.core.errors import ConfigError
from tradeloop.research.config_tree import load_tree, validate_tree
from tradeloop.research.specs import RangeSpec, SweepSpec
from tradeloop.research.sweep import sweep_points

ROOT = Path(__file__).resolve().parents[3]
CONFIGS = ROOT / "research" / "configs"


def test_tree_when_the_projects_examples_then_valid_and_chained() -> None:
    tree, problems = validate_tree(CONFIGS)
    assert problems == []
    experiment, serving, pipeline = tree.chain("es_composite_sweep")
    assert (serving.name, pipeline.name) == ("es_composite", "es_evening")
    assert len(sweep_points(experiment.sweep)) == 24


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    root = tmp_path / "research" / "configs"
    shutil.copytree(CONFIGS, root)
    (tmp_path / "config" / "instruments").mkdir(parents=True)
    shutil.copy(ROOT / "config" / "instruments" / "esh4.yaml", tmp_path / "config" / "instruments")
    return root


@pytest.mark.parametrize(
    ("file", "old", "new", "says"),
    [
        ("serving/es_composite.yaml", "  decay_ticks: 6", "  decay_tick: 6",
         "es_composite.yaml:7: gold.decay_tick: unknown key"),
        ("serving/es_composite.yaml", "    threshold: 0.05", "    threshold: high",
         "es_composite.yaml:12: signal.params.threshold: Input should be a valid number"),
        ("serving/es_composite.yaml", "pipeline: es_evening", "pipeline: es_night",
         "es_composite.yaml:5: pipeline: 'es_night' is not in"),
        ("experiments/es_composite_sweep.yaml", "    eval.sl_ticks: [4, 8]",
         "    exit.sl_ticks: [4, 8]", "es_composite_sweep.yaml:5: sweep: Value error, sweep "
         "parameter 'exit.sl_ticks': use signal.<name> or eval.<name>"),
        ("pipelines/es_evening.yaml", "name: es_evening", "name: es_morning",
         "es_evening.yaml:4: name: 'es_morning' differs from the file name"),
        ("pipelines/es_evening.yaml", 'start: "2023-12-25T23:00:00Z"', "start: yesterday",
         "es_evening.yaml:7: start: Value error, 'yesterday' is not an ISO time"),
        ("pipelines/es_evening.yaml", "instrument: config/instruments/esh4.yaml",
         "instrument: config/instruments/nq.yaml", "es_evening.yaml:6: instrument: "),
    ],
)  # fmt: skip
def test_tree_when_a_file_is_wrong_then_file_line_key_and_fix(
    tree_copy: Path, file: str, old: str, new: str, says: str
) -> None:
    path = tree_copy / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    _, problems = validate_tree(tree_copy)
    assert any(says in p for p in problems), problems
    assert all("Fix:" in p for p in problems)
    with pytest.raises(ConfigError):
        load_tree(tree_copy)


def test_tree_when_two_files_are_wrong_then_both_reported(tree_copy: Path) -> None:
    (tree_copy / "serving" / "broken.yaml").write_text("name: broken\npipeline: [\n")
    (tree_copy / "experiments" / "orphan.yaml").write_text("name: orphan\nserving: nobody\n")
    _, problems = validate_tree(tree_copy)
    assert len(problems) == 2
    assert "broken.yaml" in problems[0]
    assert "not valid YAML" in problems[0]
    assert "orphan.yaml:2: serving: 'nobody' is not in" in problems[1]


def test_sweep_when_random_then_seeded_and_within_ranges() -> None:
    sweep = SweepSpec(
        mode="random", samples=50, seed=3,
        params={"signal.threshold": RangeSpec(low=0.01, high=0.2),
                "eval.cooldown_bins": RangeSpec(low=0, high=5, integer=True),
                "eval.tp_ticks": [4.0, 8.0]},
    )  # fmt: skip
    first, again = sweep_points(sweep), sweep_points(sweep)
    assert first == again
    assert len(first) == 50
    assert all(0.01 <= p["signal.threshold"] <= 0.2 for p in first)
    assert {p["eval.cooldown_bins"] for p in first} <= {0, 1, 2, 3, 4, 5}
    assert {p["eval.tp_ticks"] for p in first} == {4.0, 8.0}
    assert sweep_points(sweep.with_changes(seed=4)) != first


def test_sweep_when_grid_then_every_combination_in_a_fixed_order() -> None:
    sweep = SweepSpec(params={"signal.threshold": [0.1, 0.2], "eval.tp_ticks": [4, 8, 12]})
    points = sweep_points(sweep)
    assert len(points) == 6
    assert points[0] == {"eval.tp_ticks": 4.0, "signal.threshold": 0.1}
    assert points[-1] == {"eval.tp_ticks": 12.0, "signal.threshold": 0.2}
