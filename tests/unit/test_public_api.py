"""The public surface for strategy authors: small, explicit, and light to import."""

from __future__ import annotations

import subprocess
import sys

import tradeloop


def test_public_api_when_listed_then_exactly_these_names_and_each_importable() -> None:
    assert tradeloop.__all__ == [
        "__version__",
        "BarView",
        "OrderType",
        "Side",
        "Strategy",
        "StrategyContext",
        "SubmitOrder",
        "TimeInForce",
        "make_order",
    ]
    for name in tradeloop.__all__:
        assert getattr(tradeloop, name) is not None
    from tradeloop import Side, make_order  # the way a strategy author writes it

    assert Side.BUY.value == "BUY"
    assert callable(make_order)


def test_package_root_when_imported_then_no_heavy_module_loaded() -> None:
    probe = (
        "import sys, tradeloop; heavy = {'numba', 'sklearn', 'lightgbm', 'onnxruntime', "
        "'matplotlib', 'polars'}; print(sorted(heavy & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
