"""One exception hierarchy for tradeloop.

::

    TradeloopError
    ├── OperatorError          an operator must fix something; retrying will not help
    │   ├── ConfigError        bad or missing configuration (file, key path, value, fix)
    │   ├── DataError          bad input data (dataset, field, value, fix)
    │   ├── StorageError       bad database URL, migration failed
    │   ├── EntitlementError   a provider refused us (400/401/403)
    │   ├── GovernanceHalt     governance forbids the action (symbol quarantined, ...)
    │   ├── GateRejected       a model failed its promotion gate
    │   └── TradingRefused     a session will not trade (reconciliation, live gate)
    └── RetryableError         try again later (timeouts, rate limits, 5xx)
        ├── StorageUnavailable the database cannot be reached now
        └── StorageBusy        the database stayed locked past its busy timeout

The CLI maps ``OperatorError`` to exit code 2 and ``RetryableError`` to exit code 3.
"""

from __future__ import annotations


class TradeloopError(Exception):
    """Base of every error tradeloop raises on purpose."""


class OperatorError(TradeloopError):
    """Something an operator must fix; retrying will not help."""


class ConfigError(OperatorError):
    """Bad or missing configuration."""


class DataError(OperatorError):
    """Input data is malformed, truncated or violates an invariant."""


class StorageError(OperatorError):
    """The store cannot be reached or migrated."""


class EntitlementError(OperatorError):
    """A provider refused the request (not entitled)."""


class GovernanceHalt(OperatorError):
    """Governance rules forbid the action."""


class GateRejected(OperatorError):
    """A model version failed its promotion gate; ``outcome`` holds the gate's details."""

    def __init__(self, message: str, outcome: object = None) -> None:
        super().__init__(message)
        self.outcome = outcome


class RetryableError(TradeloopError):
    """A transient failure: timeouts, rate limits, server errors."""


class StorageUnavailable(RetryableError):
    """The database cannot be reached now (server down, connection lost)."""


class StorageBusy(RetryableError):
    """The database stayed locked by another writer past the busy timeout."""


class TradingRefused(OperatorError):
    """A trading session refuses to start: what it found cannot be proven safe."""
