"""Fakes for every port and stub factories, shipped with the package for users' tests."""

from tradeloop.testing.fakes import (
    FakeProvider,
    InMemoryBarStore,
    InMemoryIngestAudit,
    InMemoryIngestStore,
    InMemoryModelRecords,
    RecordingVenue,
)
from tradeloop.testing.stubs import (
    stub_bars,
    stub_fill,
    stub_onnx_model,
    stub_order,
    stub_training_set,
)

__all__ = [
    "FakeProvider",
    "InMemoryBarStore",
    "InMemoryIngestAudit",
    "InMemoryIngestStore",
    "InMemoryModelRecords",
    "RecordingVenue",
    "stub_bars",
    "stub_fill",
    "stub_onnx_model",
    "stub_order",
    "stub_training_set",
]
