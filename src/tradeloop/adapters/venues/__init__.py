"""Real venue adapters: the ``Exchange`` port over a broker's or exchange's API."""
