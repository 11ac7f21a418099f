"""Hosting the gRPC server inside heron's trio service.

A ``grpc.aio`` server runs on its own asyncio loop in one worker thread (started with
``trio.to_thread.run_sync`` by a task of heron's nursery). Every RPC is handed to the trio loop
through the trio token and runs there in a cancel scope: the client's deadline becomes the scope's
deadline, and a client cancelling the RPC cancels the scope. The answer travels back through an
asyncio future. Calls go over in an inbox and answers come back in an outbox, and a side is woken
only when its box was empty: under load one wakeup carries many calls, which saves a socket write
and a GIL hand-over per call (16 clients: about half the wakeups; a single client pays the same).
"""

from __future__ import annotations

import asyncio
import logging
import math
import operator
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import grpc
import trio

if TYPE_CHECKING:
    from server.monitor.stats import Monitor

log = logging.getLogger("heron.grpc")


class _GoneCallFilter(logging.Filter):
    """grpcio logs an error with a traceback when a servicer's answer can no longer be sent
    because the call already ended (its deadline passed or the client cancelled between the
    answer being ready and being sent). The client has its DEADLINE_EXCEEDED / CANCELLED
    already, and heron did nothing wrong, so such records become one DEBUG line."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if text.startswith("ExecuteBatchError raised in core by servicer method"):
            log.debug("answer not sent, the call had ended: %s", text)
            return False
        return True


logging.getLogger("grpc._cython.cygrpc").addFilter(_GoneCallFilter())

Rpc = Callable[[Any, Mapping[str, str]], Awaitable[Any]]
"""A unary RPC on the trio side: (request message, invocation metadata) -> reply message."""

Call = tuple[Rpc, Any, Mapping[str, str], "float | None", trio.CancelScope, "asyncio.Future[Any]"]
"""One call on its way to trio: rpc, request, metadata, time remaining, its scope, its answer."""

SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", -1),  # no message size limit, as Qdrant
    ("grpc.max_send_message_length", -1),
    ("grpc.keepalive_permit_without_calls", 1),  # keepalive pings are never policed
    ("grpc.http2.min_ping_interval_without_data_ms", 1000),
    ("grpc.http2.max_ping_strikes", 0),
    ("grpc.so_reuseport", 0),
]


class RpcFailed(Exception):
    """Raised on the trio side to end an RPC with a gRPC status and message."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class GrpcHost:
    """The gRPC server: ``run`` in heron's nursery (``nursery.start``), ``stop`` to shut down."""

    def __init__(
        self,
        host: str,
        port: int,
        services: Mapping[str, Mapping[str, tuple[Rpc, Callable[[bytes], Any]]]],
        grace: float = 5.0,
        monitor: Monitor | None = None,
    ) -> None:
        self.monitor = monitor
        """Where each call's method, status code and duration are counted (``/metrics``)."""
        self.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.services = services
        self.grace = grace
        self.bound_port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopped = trio.Event()
        self._calls: trio.Nursery | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._inbox: deque[Call] = deque()
        """Calls handed to trio, not started yet: one ``run_sync_soon`` drains all there are."""
        self._outbox: deque[tuple[asyncio.Future[Any], Any, bool]] = deque()
        """Answers handed back, not settled yet: one ``call_soon_threadsafe`` settles them all."""

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until ``stop`` (or until cancelled); ``task_status`` gets the bound port.
        A port that can't be bound raises here, before ``started``."""
        self._token = trio.lowlevel.current_trio_token()
        ready = trio.Event()
        failure: list[BaseException] = []
        try:
            async with trio.open_nursery() as calls:
                self._calls = calls

                async def serve() -> None:
                    try:
                        await trio.to_thread.run_sync(self._thread_main, ready, failure)
                    finally:
                        calls.cancel_scope.cancel()

                async def stop_when_cancelled() -> None:
                    try:
                        await trio.sleep_forever()
                    finally:
                        self._request_stop()

                calls.start_soon(stop_when_cancelled)
                calls.start_soon(serve)
                await ready.wait()
                task_status.started(self.bound_port)
            if failure and not ready.is_set():
                raise failure[0]
        finally:
            self._calls = None
            self._stopped.set()

    async def stop(self) -> None:
        """Stop taking calls, give in-flight calls the grace period, and wait until down."""
        if self._token is None:  # never started
            return
        self._request_stop()
        await self._stopped.wait()

    def _request_stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop has already finished
                pass

    def _thread_main(self, ready: trio.Event, failure: list[BaseException]) -> None:
        try:
            asyncio.run(self._serve(ready))
        except BaseException as exc:  # reported to the trio side, which raises it
            failure.append(exc)
            if ready.is_set():
                log.exception("gRPC server failed")

    async def _serve(self, ready: trio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = grpc.aio.server(
            options=SERVER_OPTIONS, compression=grpc.Compression.NoCompression
        )
        for name, rpcs in self.services.items():
            handlers = {
                method: grpc.unary_unary_rpc_method_handler(
                    self._bridge(f"/{name}/{method}", rpc),
                    request_deserializer=parse,
                    response_serializer=_serialize,
                )
                for method, (rpc, parse) in rpcs.items()
            }
            server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
        self.bound_port = server.add_insecure_port(self.address)
        if self.bound_port == 0:
            raise OSError(f"cannot serve gRPC on {self.address}")
        await server.start()
        trio.from_thread.run_sync(ready.set, trio_token=self._token)
        log.info("heron serving gRPC on %s", self.address.rsplit(":", 1)[0] + f":{self.bound_port}")
        await self._stop.wait()
        await server.stop(self.grace)

    def _bridge(self, name: str, rpc: Rpc) -> Callable[[Any, Any], Awaitable[Any]]:
        """The asyncio handler grpc calls: run ``rpc`` on the trio loop, await its answer.

        The call goes into the inbox and its answer comes back through the outbox; each side
        wakes the other only when its box was empty, so under load many calls share one wakeup
        (a socket write, and the GIL hand-over that comes with it). A client's cancel cancels
        the answer's future, and the handler then cancels the call's trio scope."""
        monitor = self.monitor
        token = self._token
        assert token is not None
        inbox, drain = self._inbox, self._drain_inbox

        async def handle(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            code = "OK"
            try:
                done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                metadata = {k.lower(): v for k, v in (context.invocation_metadata() or ())
                            if isinstance(v, str)}
                scope = trio.CancelScope()
                inbox.append((rpc, request, metadata, context.time_remaining(), scope, done))
                if len(inbox) == 1:  # else a drain is already due, and takes this call too
                    try:
                        token.run_sync_soon(drain)
                    except trio.RunFinishedError:
                        self._fail_inbox()
                try:
                    return await done
                except asyncio.CancelledError:  # the client cancelled or its deadline passed
                    try:
                        token.run_sync_soon(scope.cancel)
                    except trio.RunFinishedError:
                        pass
                    raise
            except asyncio.CancelledError:
                code = "CANCELLED"
                raise
            except RpcFailed as exc:
                code = exc.code.name
                await context.abort(exc.code, exc.message)
            except Exception:  # the abort of a call that came in while heron shut down
                code = "UNAVAILABLE"
                raise
            finally:
                if monitor is not None:
                    monitor.grpc.record(name, code, time.perf_counter() - started)

        handle.__name__ = name
        return handle

    def _fail_inbox(self) -> None:
        """On the asyncio loop, once trio has finished: answer every waiting call UNAVAILABLE."""
        while self._inbox:
            _settle(self._inbox.popleft()[-1], RpcFailed(
                grpc.StatusCode.UNAVAILABLE, "heron is shutting down"), True)

    def _drain_inbox(self) -> None:
        """On the trio loop: start every call of the inbox as a task of the calls nursery."""
        inbox = self._inbox
        while inbox:
            rpc, request, metadata, remaining, scope, done = inbox.popleft()
            if remaining is not None and math.isfinite(remaining):
                scope.deadline = trio.current_time() + remaining
            if self._calls is None:
                self._answer(done, RpcFailed(
                    grpc.StatusCode.UNAVAILABLE, "heron is shutting down"), True)
                continue
            self._calls.start_soon(self._call, rpc, request, metadata, scope, done)

    async def _call(self, rpc: Rpc, request: Any, metadata: Mapping[str, str],
                    scope: trio.CancelScope, done: asyncio.Future[Any]) -> None:
        reply: Any = None
        failed: BaseException | None = None
        with scope:
            try:
                reply = await rpc(request, metadata)
            except RpcFailed as exc:
                failed = exc
            except Exception as exc:
                log.exception("unexpected error in a gRPC call")
                failed = RpcFailed(grpc.StatusCode.INTERNAL, f"Service internal error: {exc}")
        if scope.cancelled_caught or (failed is None and reply is None):
            failed = RpcFailed(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline exceeded")
        self._answer(done, failed or reply, failed is not None)

    def _answer(self, done: asyncio.Future[Any], value: Any, is_error: bool) -> None:
        """On the trio loop: hand an answer back to the asyncio loop (through the outbox)."""
        outbox = self._outbox
        outbox.append((done, value, is_error))
        if len(outbox) == 1 and self._loop is not None:  # else a drain is already due
            try:
                self._loop.call_soon_threadsafe(self._drain_outbox)
            except RuntimeError:  # the asyncio loop is gone: nobody waits for these answers
                outbox.clear()

    def _drain_outbox(self) -> None:
        """On the asyncio loop: settle every answer of the outbox."""
        outbox = self._outbox
        while outbox:
            _settle(*outbox.popleft())


def _settle(done: asyncio.Future[Any], value: Any, is_error: bool) -> None:
    if done.done():
        return
    if is_error:
        done.set_exception(value)
    else:
        done.set_result(value)


_serialize = operator.methodcaller("SerializeToString")
"""Any reply message -> its bytes (a C-level call: no Python frame per reply)."""
