"""Embeddings heron computes itself: Qdrant's local ``qdrant/bm25`` model for ``Document``s."""
