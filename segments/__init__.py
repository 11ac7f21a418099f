"""Storage of points: segments, their vectors, payloads, ids and filtering."""
