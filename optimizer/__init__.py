"""Background work over segments: flushing now; indexing, merging and vacuuming to come."""
