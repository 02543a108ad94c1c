"""An asyncio event loop whose clock is virtual.

The clock jumps from one scheduled event to the next; nothing sleeps and no system call is made per
event. Node coroutines are driven by `Process`, which resumes them directly when a `Wakeup` they wait
on fires; anything else from asyncio (futures, tasks, `gather`, `wait_for`) works through the
standard loop interface.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from asyncio import events
from collections import deque
from collections.abc import Callable, Coroutine
from contextvars import Context
from typing import Any


class Wakeup:
    """A one-shot event that one coroutine awaits; fired once by the loop with a value or an error."""

    __slots__ = ("_asyncio_future_blocking", "_callback", "_context", "error", "fired", "process", "value")

    def __init__(self, process: Process | None = None) -> None:
        self.process = process
        self.fired = False
        self.value: Any = None
        self.error: BaseException | None = None
        self._callback: Callable[[Any], Any] | None = None
        self._context: Context | None = None
        self._asyncio_future_blocking = False

    def __await__(self):
        if not self.fired:
            self._asyncio_future_blocking = True
            yield self
        if self.error is not None:
            raise self.error
        return self.value

    def fire(self, value: Any = None) -> None:
        if self.fired:
            return
        self.fired = True
        self.value = value
        if self.process is not None:
            self.process.resume(self)
        elif self._callback is not None:
            self._context.run(self._callback, self)

    def fail(self, error: BaseException) -> None:
        if not self.fired:
            self.error = error
            self.fire()

    # The future protocol, so that an asyncio Task (for example inside `asyncio.gather`) can await it.
    def add_done_callback(self, fn: Callable[[Any], Any], *, context: Context | None = None) -> None:
        self.process = None
        self._callback = fn
        self._context = context if context is not None else Context()

    def remove_done_callback(self, fn: Callable[[Any], Any]) -> int:
        if self._callback is fn:
            self._callback = None
            return 1
        return 0

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return events.get_running_loop()

    def done(self) -> bool:
        return self.fired

    def cancelled(self) -> bool:
        return isinstance(self.error, asyncio.CancelledError)

    def cancel(self, msg: Any = None) -> bool:
        if self.fired:
            return False
        self.fail(asyncio.CancelledError(msg))
        return True

    def result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value

    def exception(self) -> BaseException | None:
        return self.error


class Process:
    """Drives one coroutine on the loop; `kill` ends it where it stands, dropping its state."""

    __slots__ = ("alive", "coro", "error", "held", "loop", "name", "on_exit", "pending", "waiting")

    def __init__(
        self,
        loop: VirtualTimeLoop,
        coro: Coroutine[Any, Any, Any],
        name: str,
        on_exit: Callable[[Process], None] | None = None,
    ) -> None:
        self.loop = loop
        self.coro = coro
        self.name = name
        self.alive = True
        self.error: BaseException | None = None
        self.waiting: Wakeup | None = None
        self.held = False
        self.pending = False
        self.on_exit = on_exit
        loop.schedule(loop.now, self._start, None)

    def _start(self, _: Any) -> None:
        if self.alive:
            self.resume(None)

    def resume(self, _: Wakeup | None) -> None:
        """Run the coroutine until it waits again or ends (later, if the process is held)."""
        if self.held:
            self.pending = True
            return
        try:
            awaited = self.coro.send(None)
        except StopIteration:
            self._exit(None)
            return
        except BaseException as error:
            self._exit(error)
            return
        if awaited.__class__ is Wakeup:
            awaited.process = self
            self.waiting = awaited
        else:
            self._wait_for_future(awaited)

    def _wait_for_future(self, awaited: Any) -> None:
        if getattr(awaited, "_asyncio_future_blocking", None) is None:
            self._exit(
                RuntimeError(f"process {self.name!r} awaited {awaited!r}, which is not awaitable here")
            )
            return
        awaited._asyncio_future_blocking = False
        wakeup = Wakeup(self)
        self.waiting = wakeup
        awaited.add_done_callback(lambda _: wakeup.fire())

    def hold(self) -> None:
        """Stop running: wakeups that fire meanwhile take effect on `release`."""
        self.held = True

    def release(self) -> None:
        self.held = False
        if self.pending and self.alive:
            self.pending = False
            self.resume(None)

    def kill(self) -> None:
        """End the coroutine at its current await; nothing it would have done afterwards happens."""
        if not self.alive:
            return
        self.alive = False
        if self.waiting is not None:
            self.waiting.process = None
            self.waiting.fired = True
        self.coro.close()

    def _exit(self, error: BaseException | None) -> None:
        self.alive = False
        self.error = error
        if self.on_exit is not None:
            self.on_exit(self)


class VirtualTimeLoop(asyncio.AbstractEventLoop):
    """An asyncio event loop in virtual time: `time()` is the simulated clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.events = 0
        self._heap: list[tuple[float, int, Callable[[Any], Any], Any]] = []
        self._ready: deque[asyncio.Handle] = deque()
        self._seq = itertools.count()
        self._running = False
        self._stopping = False
        self._closed = False
        self._debug = False
        self._exception_handler: Callable[..., Any] | None = None
        self.failure: BaseException | None = None

    # -- the kernel's own scheduling --------------------------------------------------------------
    def schedule(self, when: float, fn: Callable[[Any], Any], arg: Any) -> None:
        """Call `fn(arg)` at virtual time `when` (events at one time run in the order scheduled)."""
        heapq.heappush(self._heap, (when, next(self._seq), fn, arg))

    def wakeup_at(self, when: float, process: Process | None = None) -> Wakeup:
        """A Wakeup that fires at `when`."""
        wakeup = Wakeup(process)
        heapq.heappush(self._heap, (when, next(self._seq), Wakeup.fire, wakeup))
        return wakeup

    def pending(self) -> int:
        """How many events are scheduled (cancelled timers included until they come due)."""
        return len(self._heap)

    def run_until(self, until: float = float("inf")) -> None:
        """Dispatch events in time order until none is left before `until` or the loop is stopped."""
        if self._running:
            raise RuntimeError("the virtual-time loop is already running")
        heap = self._heap
        ready = self._ready
        pop = heapq.heappop
        previous = events._get_running_loop()
        events._set_running_loop(self)
        self._running = True
        self._stopping = False
        dispatched = 0
        try:
            while not self._stopping:
                while ready:
                    handle = ready.popleft()
                    if not handle._cancelled:
                        handle._run()
                        dispatched += 1
                if not heap or heap[0][0] > until or self._stopping:
                    break
                when, _, fn, arg = pop(heap)
                self.now = when
                fn(arg)
                dispatched += 1
            if until != float("inf") and not self._stopping and self.now < until:
                self.now = until
        finally:
            self.events += dispatched
            self._running = False
            events._set_running_loop(previous)
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure

    def fail(self, error: BaseException) -> None:
        """Stop the loop and raise `error` from `run_until`."""
        if self.failure is None:
            self.failure = error
        self._stopping = True

    # -- the asyncio loop interface ---------------------------------------------------------------
    def time(self) -> float:
        return self.now

    def call_soon(self, callback: Callable[..., Any], *args: Any, context: Context | None = None):
        handle = asyncio.Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    def call_soon_threadsafe(self, callback: Callable[..., Any], *args: Any, context: Context | None = None):
        return self.call_soon(callback, *args, context=context)

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any, context: Context | None = None):
        handle = asyncio.TimerHandle(when, callback, args, self, context)
        self.schedule(when, _run_timer, handle)
        return handle

    def call_later(
        self, delay: float, callback: Callable[..., Any], *args: Any, context: Context | None = None
    ):
        return self.call_at(self.now + delay, callback, *args, context=context)

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        """Cancelled timers stay in the heap and are skipped when due."""

    def create_future(self) -> asyncio.Future[Any]:
        return asyncio.Future(loop=self)

    def create_task(self, coro, *, name=None, context=None) -> asyncio.Task[Any]:
        return asyncio.Task(coro, loop=self, name=name, context=context)

    def run_until_complete(self, future):
        future = asyncio.ensure_future(future, loop=self)
        future.add_done_callback(lambda _: self.stop())
        self.run_until()
        if not future.done():
            raise RuntimeError("the loop ran out of events before the future completed")
        return future.result()

    def run_forever(self) -> None:
        self.run_until()

    def stop(self) -> None:
        self._stopping = True

    def is_running(self) -> bool:
        return self._running

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        self._heap.clear()
        self._ready.clear()

    async def shutdown_asyncgens(self) -> None:
        return None

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:
        return None

    def get_debug(self) -> bool:
        return self._debug

    def set_debug(self, enabled: bool) -> None:
        self._debug = enabled

    def set_exception_handler(self, handler: Callable[..., Any] | None) -> None:
        self._exception_handler = handler

    def get_exception_handler(self) -> Callable[..., Any] | None:
        return self._exception_handler

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        error = context.get("exception")
        self.fail(error if error is not None else RuntimeError(context.get("message", "asyncio error")))

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        if self._exception_handler is not None:
            self._exception_handler(self, context)
        else:
            self.default_exception_handler(context)


def _run_timer(handle: asyncio.TimerHandle) -> None:
    if not handle._cancelled:
        handle._run()
