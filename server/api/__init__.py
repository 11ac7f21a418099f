"""The transport-neutral layer under the REST and gRPC front ends: the operation table, request
validation and limits, auth decisions, and the error-to-status mapping (``Api``, ``grpc_code``)."""
