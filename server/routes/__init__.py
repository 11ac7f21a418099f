"""HTTP routes, one module per area of Qdrant's API."""
