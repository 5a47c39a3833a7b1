"""The composition root: settings + config file -> concrete objects; the only package that
picks adapters. ``app`` wires the whole application (``build_app``); ``control`` the
operator's narrow set (kill switch, audit trail, model registry) from the settings alone,
so halt, resume and the registry views start fast and never depend on the config file;
``database`` opens (and, for a write command, migrates) the database both use."""
