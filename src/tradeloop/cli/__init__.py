"""The ``tradeloop`` command line (Typer), one module per command group."""
