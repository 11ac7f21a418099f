"""The formula query: Qdrant's score-boosting expression language, parsed then evaluated."""
