"""The gRPC host in a trio run: calls run as trio tasks, a client's deadline or cancellation
cancels them, errors keep their code, and stop() lets an in-flight call finish (grace period)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import grpc
import trio

from server.grpc import schema
from server.grpc.host import GrpcHost, RpcFailed

REQUEST = schema.message("qdrant.HealthCheckRequest")
REPLY = schema.message("qdrant.HealthCheckReply")


def _stub(port: int, method: str) -> tuple[grpc.Channel, Any]:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    call = channel.unary_unary(
        f"/test.T/{method}",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=REPLY.FromString,
    )
    return channel, call


def test_calls_run_on_trio_and_are_cancelled_with_the_client() -> None:
    events: list[str] = []

    async def hello(request: Any, metadata: Mapping[str, str]) -> Any:
        trio.lowlevel.current_task()  # raises outside a trio task
        return REPLY(title="hi", version=metadata.get("x-who", "?"))

    async def slow(request: Any, metadata: Mapping[str, str]) -> Any:
        try:
            await trio.sleep(30)
        except trio.Cancelled:
            events.append("cancelled")
            raise
        return REPLY()

    async def refuse(request: Any, metadata: Mapping[str, str]) -> Any:
        raise RpcFailed(grpc.StatusCode.NOT_FOUND, "no such thing")

    async def finish_late(request: Any, metadata: Mapping[str, str]) -> Any:
        await trio.sleep(0.5)
        events.append("finished")
        return REPLY(title="late")

    rpcs = {name: (fn, REQUEST.FromString) for name, fn in
            {"Hello": hello, "Slow": slow, "Refuse": refuse, "Late": finish_late}.items()}

    def client(port: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        channel, call = _stub(port, "Hello")
        out["hello"] = call(REQUEST(), metadata=[("x-who", "me")], timeout=5).version
        for method in ("Slow", "Refuse"):
            _, call = _stub(port, method)
            try:
                call(REQUEST(), timeout=0.3)
            except grpc.RpcError as exc:
                out[method] = (exc.code(), exc.details())
        _, call = _stub(port, "Slow")
        future = call.future(REQUEST(), timeout=10)
        time.sleep(0.3)
        future.cancel()
        time.sleep(0.3)
        channel.close()
        return out

    async def main() -> None:
        host = GrpcHost("127.0.0.1", 0, {"test.T": rpcs}, grace=5.0)
        async with trio.open_nursery() as nursery:
            port = await nursery.start(host.run)
            out = await trio.to_thread.run_sync(client, port)
            assert out["hello"] == "me"
            assert out["Slow"][0] == grpc.StatusCode.DEADLINE_EXCEEDED
            assert out["Refuse"] == (grpc.StatusCode.NOT_FOUND, "no such thing")
            assert events.count("cancelled") == 2, events  # deadline, then client cancel

            channel, call = _stub(port, "Late")
            future = await trio.to_thread.run_sync(lambda: call.future(REQUEST(), timeout=10))
            await trio.sleep(0.1)
            await host.stop()  # grace: the call in flight completes
            assert "finished" in events
            assert (await trio.to_thread.run_sync(future.result)).title == "late"
            channel.close()

    trio.run(main)


def test_concurrent_calls_each_get_their_own_answer() -> None:
    """Many calls in flight at once share wakeups both ways (inbox / outbox); every answer still
    reaches its own caller, failures included."""

    async def echo(request: Any, metadata: Mapping[str, str]) -> Any:
        n = int(metadata["x-n"])
        await trio.sleep((n % 7) * 0.002)
        if n % 5 == 0:
            raise RpcFailed(grpc.StatusCode.NOT_FOUND, f"no {n}")
        return REPLY(title=str(n))

    def client(port: int) -> list[tuple[int, Any]]:
        channel, call = _stub(port, "Echo")
        futures = [(n, call.future(REQUEST(), metadata=[("x-n", str(n))], timeout=20))
                   for n in range(200)]
        out = []
        for n, future in futures:
            try:
                out.append((n, future.result().title))
            except grpc.RpcError as exc:
                out.append((n, (exc.code(), exc.details())))
        channel.close()
        return out

    async def main() -> None:
        host = GrpcHost("127.0.0.1", 0, {"test.T": {"Echo": (echo, REQUEST.FromString)}})
        async with trio.open_nursery() as nursery:
            port = await nursery.start(host.run)
            out = await trio.to_thread.run_sync(client, port)
            assert len(out) == 200
            for n, answer in out:
                if n % 5 == 0:
                    assert answer == (grpc.StatusCode.NOT_FOUND, f"no {n}")
                else:
                    assert answer == str(n)
            assert not host._inbox and not host._outbox
            await host.stop()

    trio.run(main)


def test_a_busy_port_fails_before_started() -> None:
    import socket

    import pytest

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]

        async def main() -> None:
            host = GrpcHost("127.0.0.1", port, {})
            async with trio.open_nursery() as nursery:
                await nursery.start(host.run)

        with pytest.raises(BaseException) as info:
            trio.run(main)
        assert "Failed to bind" in repr(info.value), repr(info.value)
