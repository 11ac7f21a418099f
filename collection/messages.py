"""The collection actor's mailbox protocol: what can be sent, and how the answer comes back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from collection.errors import HeronError


class Reply:
    """A one-shot answer slot: the actor fills it once, the sender awaits it."""

    def __init__(self) -> None:
        self._event = trio.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    def set(self, value: Any) -> None:
        if not self._event.is_set():
            self._value = value
            self._event.set()

    def fail(self, error: BaseException) -> None:
        if not self._event.is_set():
            self._error = error
            self._event.set()

    @property
    def done(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> Any:
        await self._event.wait()
        if self._error is not None:
            raise self._error
        return self._value


@dataclass
class Update:
    """One validated operation record to log and apply.

    ``check``, if given, looks at the state right before the operation (e.g. ids that must
    exist) and returns the error to answer instead of logging it.
    """

    record: dict[str, Any]
    wait: bool
    check: Callable[[Any], HeronError | None] | None = None
    reply: Reply = field(default_factory=Reply)


@dataclass
class Flush:
    """Ask the actor for a flush plan (a consistent copy of what changed)."""

    reply: Reply = field(default_factory=Reply)


@dataclass
class Call:
    """Run ``fn(holder)`` on the writer's side, between two operations (optimizer swaps)."""

    fn: Callable[[Any], Any]
    reply: Reply = field(default_factory=Reply)


@dataclass
class Stop:
    """Finish what is queued, then end the actor."""

    reply: Reply = field(default_factory=Reply)


Message = Update | Flush | Call | Stop


@dataclass
class UpdateResult:
    operation_id: int
    status: str  # "acknowledged" or "completed"

