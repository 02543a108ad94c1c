"""An asyncio event loop whose clock is virtual.

The clock jumps from one scheduled event to the next; nothing sleeps and no system call is made per
event. Node coroutines are driven by `Process`, which resumes them directly when a `Wakeup` they wait
on fires; anything else from asyncio (futures, tasks, `gather`, `wait_for`) works through the
standard loop interface.
"""

from __future__ import annotations

import asyncio
import collections.abc
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
    """Drives one coroutine on the loop; `kill` ends it where it stands, dropping its state, and with it
    every asyncio task it started (`create_task`, the coroutines of `gather`), and theirs in turn."""

    __slots__ = (
        "alive",
        "awaited",
        "coro",
        "error",
        "held",
        "loop",
        "name",
        "on_exit",
        "pending",
        "tasks",
        "waiting",
    )

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
        self.awaited: Any = None  # the latest asyncio future awaited (other than a Wakeup)
        self.held = False
        self.pending = False
        self.on_exit = on_exit
        self.tasks: set[asyncio.Task[Any]] | None = None  # made when the process starts its first task
        loop.schedule(loop.now, self._start, None)

    def _start(self, _: Any) -> None:
        if self.alive:
            self.resume(None)

    def resume(self, _: Wakeup | None) -> None:
        """Run the coroutine until it waits again or ends (later, if the process is held)."""
        if self.held:
            self.pending = True
            return
        loop = self.loop
        outer, loop.running = loop.running, self
        try:
            awaited = self.coro.send(None)
        except StopIteration:
            loop.running = outer
            self._exit(None)
            return
        except BaseException as error:
            loop.running = outer
            self._exit(error)
            return
        loop.running = outer
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
        self.awaited = awaited
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
        while self.tasks:
            _end(self.tasks.pop())
        if self.awaited is not None and not self.awaited.done():
            # Nobody will read what the future it waited on (a gather of its tasks, say) ends with.
            self.awaited.add_done_callback(_retrieve)

    def adopt(self, task: asyncio.Task[Any]) -> None:
        """Count `task` (whose coroutine is an `Owned`) as this process's, to end with it."""
        if not self.alive:
            _end(task)
            return
        if self.tasks is None:
            self.tasks = set()
        self.tasks.add(task)
        self.loop.owners[task] = self
        task.add_done_callback(self.loop.forget)

    def _exit(self, error: BaseException | None) -> None:
        self.alive = False
        self.error = error
        if self.on_exit is not None:
            self.on_exit(self)


class Owned(collections.abc.Coroutine):
    """A process's task's coroutine, which can be ended for good: once `end` is called, the coroutine is
    closed where it waits and the task sees a cancellation at its next step, whatever its code catches."""

    __slots__ = ("coro", "ended")

    def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.coro = coro
        self.ended = False

    def send(self, value: Any) -> Any:
        if self.ended:
            raise asyncio.CancelledError
        return self.coro.send(value)

    def throw(self, error: Any, *args: Any) -> Any:
        if self.ended:
            raise asyncio.CancelledError
        return self.coro.throw(error, *args)

    def close(self) -> None:
        self.coro.close()

    def end(self) -> None:
        self.ended = True
        self.coro.close()

    def __await__(self):
        return self.coro.__await__()


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
        self.running: Process | None = None  # the process whose coroutine runs now, outside tasks
        self.owners: dict[asyncio.Task[Any], Process] = {}  # the process that started each task
        self._cancelled_timers = 0
        # Timeouts by delay, each a FIFO (so in time order) of which only the first is on the heap.
        self._timeouts: dict[float, deque[tuple[float, int, Callable[[Any], Any], Any, Wakeup]]] = {}

    # -- the kernel's own scheduling --------------------------------------------------------------
    def schedule(self, when: float, fn: Callable[[Any], Any], arg: Any) -> None:
        """Call `fn(arg)` at virtual time `when` (events at one time run in the order scheduled)."""
        heapq.heappush(self._heap, (when, next(self._seq), fn, arg))

    def wakeup_at(self, when: float, process: Process | None = None) -> Wakeup:
        """A Wakeup that fires at `when`."""
        wakeup = Wakeup(process)
        heapq.heappush(self._heap, (when, next(self._seq), Wakeup.fire, wakeup))
        return wakeup

    def timeout(self, delay: float, wakeup: Wakeup, fn: Callable[[Any], Any], arg: Any) -> None:
        """Call `fn(arg)` `delay` seconds from now, unless `wakeup` has fired with a value by then.

        It runs in its place among the events scheduled meanwhile, as `schedule` would run it; one whose
        wakeup fired with a value is dropped without being an event. Timeouts of one delay wait in one
        queue, in the order they end, with only the first of them on the heap: a call answered in time
        costs the heap nothing."""
        queue = self._timeouts.get(delay)
        if queue is None:
            queue = self._timeouts[delay] = deque()
        when, seq = self.now + delay, next(self._seq)
        if not queue:
            heapq.heappush(self._heap, (when, seq, self._timeout_due, delay))
        queue.append((when, seq, fn, arg, wakeup))

    def _timeout_due(self, delay: float) -> None:
        queue = self._timeouts[delay]
        _, _, fn, arg, wakeup = queue.popleft()
        while queue:
            head = queue[0]
            answered = head[4]
            if answered.fired and answered.error is None:
                queue.popleft()
            else:
                heapq.heappush(self._heap, (head[0], head[1], self._timeout_due, delay))
                break
        else:
            del self._timeouts[delay]
        if wakeup.fired and wakeup.error is None:
            self.events -= 1  # answered after it became the first: not an event
        else:
            fn(arg)

    def pending(self) -> int:
        """How many events are scheduled (cancelled asyncio timers included until compacted out, and
        timeouts whose wakeup fired until they come to the front of their queue)."""
        return len(self._heap) + sum(len(queue) - 1 for queue in self._timeouts.values())

    def forget(self, task: asyncio.Task[Any]) -> None:
        """`task` is done: its process no longer has to end it."""
        owner = self.owners.pop(task, None)
        if owner is not None and owner.tasks:
            owner.tasks.discard(task)

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
        handle._scheduled = True
        self.schedule(when, _run_timer, handle)
        return handle

    def call_later(
        self, delay: float, callback: Callable[..., Any], *args: Any, context: Context | None = None
    ):
        return self.call_at(self.now + delay, callback, *args, context=context)

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        """Count a scheduled timer cancelled; once they are over half of a large heap, drop them all
        (the rule of CPython's own loop), so that timeouts that never fire do not pile up."""
        if not handle._scheduled:
            return
        self._cancelled_timers += 1
        heap = self._heap
        if self._cancelled_timers > _MIN_COMPACTED and 2 * self._cancelled_timers > len(heap):
            kept = []
            for entry in heap:
                if entry[2] is _run_timer and entry[3]._cancelled:
                    entry[3]._scheduled = False
                else:
                    kept.append(entry)
            heap[:] = kept  # in place: run_until holds the list
            heapq.heapify(heap)
            self._cancelled_timers = 0

    def create_future(self) -> asyncio.Future[Any]:
        return asyncio.Future(loop=self)

    def create_task(self, coro, *, name=None, context=None) -> asyncio.Task[Any]:
        parent = asyncio.current_task(self)
        owner = self.running if parent is None else self.owners.get(parent)
        if owner is None:
            return asyncio.Task(coro, loop=self, name=name, context=context)
        task = asyncio.Task(Owned(coro), loop=self, name=name, context=context)
        owner.adopt(task)
        return task

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
        self._timeouts.clear()

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


_MIN_COMPACTED = 100


def _run_timer(handle: asyncio.TimerHandle) -> None:
    handle._scheduled = False
    if handle._cancelled:
        handle._loop._cancelled_timers -= 1
    else:
        handle._run()


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _end(task: asyncio.Task[Any]) -> None:
    """End a process's task where it waits: no code of it runs on, and it ends cancelled."""
    task.get_coro().end()
    task.cancel()
