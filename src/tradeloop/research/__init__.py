"""The research platform: specs, datasets, signals, TP/SL evaluation, experiment runs."""
