"""The REST front end: a Quart-Trio app whose routes translate HTTP to ``server.api`` calls."""
