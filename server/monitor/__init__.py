"""Seeing inside heron: metrics, telemetry, optimizations, issues, cluster and request logs."""
