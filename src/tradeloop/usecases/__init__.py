"""Use cases: one module per thing a user asks the desk to do (run a backtest, trade a
paper account, collect, train, report, back up, notify, ...), composed from the inner
packages and called by one CLI or API face each."""
