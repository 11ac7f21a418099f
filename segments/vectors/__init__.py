"""Vector storages and their scoring, one module per vector kind."""
