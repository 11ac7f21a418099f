#!/usr/bin/env python
"""Compile Qdrant's public gRPC schema into the descriptor set heron ships (server/grpc/qdrant.pb).

Run after the reference .proto files change:
    python scripts/compile_protos.py [--protos DIR]
Needs grpcio-tools (a dev-only dependency). Only the public services' files are compiled, with
their imports; the ``qdrant.Qdrant`` service (whose file also imports Qdrant's internal services)
is described here directly, as a tiny descriptor of its own with the same wire names.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROTOS = Path("/work/shared/reference/grpc")
OUT = ROOT / "server" / "grpc" / "qdrant.pb"
PUBLIC = [
    "collections_service.proto",
    "points_service.proto",
    "snapshots_service.proto",
    "health_check.proto",
]


def service_file() -> descriptor_pb2.FileDescriptorProto:
    """``qdrant.Qdrant/HealthCheck`` and its two messages, built field by field."""
    f = descriptor_pb2.FileDescriptorProto(name="heron_qdrant_service.proto", package="qdrant")
    f.syntax = "proto3"
    f.message_type.add(name="HealthCheckRequest")
    reply = f.message_type.add(name="HealthCheckReply")
    string = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
    optional = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
    for number, name in enumerate(("title", "version", "commit"), start=1):
        reply.field.add(name=name, number=number, type=string, label=optional, json_name=name)
    # proto3 `optional` is a synthetic one-field oneof
    reply.oneof_decl.add(name="_commit")
    reply.field[2].oneof_index = 0
    reply.field[2].proto3_optional = True
    svc = f.service.add(name="Qdrant")
    svc.method.add(
        name="HealthCheck", input_type=".qdrant.HealthCheckRequest",
        output_type=".qdrant.HealthCheckReply",
    )
    return f


def compile_set(protos: Path) -> descriptor_pb2.FileDescriptorSet:
    """Run protoc (from grpcio-tools) over the public files and parse the set it writes."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.pb"
        code = protoc.main([
            "protoc", f"-I{protos}", f"-I{well_known}", "--include_imports",
            f"--descriptor_set_out={out}", *[str(protos / name) for name in PUBLIC],
        ])
        if code != 0:
            raise SystemExit(f"protoc failed with {code}")
        fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    for f in fds.file:
        f.ClearField("source_code_info")
    fds.file.append(service_file())
    return fds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protos", type=Path, default=DEFAULT_PROTOS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    fds = compile_set(args.protos)
    args.out.write_bytes(fds.SerializeToString(deterministic=True))
    names = ", ".join(f.name for f in fds.file)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes): {names}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
