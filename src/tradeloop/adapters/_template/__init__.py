"""Adapter templates: copy one to start a provider or a venue (docs/architecture.md).

``provider.py`` is a complete provider for the simplest JSON bar API; it passes the
provider contract suite (``tests/contracts/test_provider_contract.py``), so a copy starts
green. ``README.md`` is the venue checklist, with ``adapters/venues/alpaca.py`` as the
worked example.
"""
