"""One engine for every mode: order path, portfolio ledger, simulated venue, strategies."""
