"""The query engine: plan a request, run its searches across segments, shape the results."""
