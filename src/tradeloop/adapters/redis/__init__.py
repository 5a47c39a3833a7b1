"""Redis Streams adapters: the bus (and later the job queue)."""
