"""The scalper's stream services, one process each: ``python -m tradeloop.services.<name>``
with ``collector``, ``signal_engine``, ``ai_scorer``, ``risk`` and ``executor``. They meet on
Redis Streams (``TRADELOOP_REDIS_URL``); ``tradeloop up --profile paper|real`` supervises
all five."""
