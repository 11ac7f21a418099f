"""heron's gRPC front end: Qdrant's gRPC API (port 6334) as thin translators over ``server.api``."""
