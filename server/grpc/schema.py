"""Qdrant's gRPC message classes, built at start from the committed descriptor set.

The classes live in a private descriptor pool, so nothing here clashes with other protobuf users
(qdrant-client's generated modules register the same names in the default pool).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

SERVICES = (
    "qdrant.Qdrant",
    "grpc.health.v1.Health",
    "qdrant.Collections",
    "qdrant.Points",
    "qdrant.Snapshots",
)
"""The public services heron serves (Qdrant's internal and raft services are left out)."""


@cache
def pool() -> descriptor_pool.DescriptorPool:
    """The private pool holding every file of ``qdrant.pb``."""
    data = resources.files("server.grpc").joinpath("qdrant.pb").read_bytes()
    fds = descriptor_pb2.FileDescriptorSet.FromString(data)
    p = descriptor_pool.DescriptorPool()
    for f in fds.file:
        p.Add(f)
    return p


@cache
def message(full_name: str) -> type[Any]:
    """The message class for a full name such as ``qdrant.PointStruct``."""
    return message_factory.GetMessageClass(pool().FindMessageTypeByName(full_name))


def service(full_name: str) -> ServiceDescriptor:
    return pool().FindServiceByName(full_name)


def methods(full_name: str) -> list[MethodDescriptor]:
    return list(service(full_name).methods)
