"""The HTTP front end: Qdrant's REST API on Quart-Trio and hypercorn."""
