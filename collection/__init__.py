"""The collection layer: the single-writer actor, its handle, and the query engine."""
