"""The coordinator of an emulated Gorila run: one OS process per node (or per K nodes), the scenario's faults
done to those processes for real, and the processes' traces merged into the results of a simulated run.

Crash: SIGKILL at `at`; at `until` a fresh process (kept warm beforehand) takes the crashed one's nodes,
which restore from their disks. Pause: SIGSTOP and SIGCONT. Slowdown: the node's server is told the factor
(POST /control). Partitions, latency spikes and loss bursts are applied by the senders, which know them.
The run ends at the scenario's `stop.sim_time` (run seconds: wall seconds over the time scale), when the
processes' env steps add up to `stop.env_steps`, or when a process's own count or target return says so.
Every process is killed on the way out, whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO

from netmodels import Degradation, Partition

from ..gorila import Interrupted, RunResult, summarise
from ..results import ResultsWriter
from ..scenario import NetworkFault, Scenario
from ..topology import node_names
from ..trace import Trace
from . import on_ray, tempdir
from .auth import SignedClient, new_key
from .clock import RunClock
from .directory import Address, AddressBook
from .faults import Action, timeline
from .network import WireStats
from .ports import PortsExhausted
from .process import RunSpec, worker_main
from .roundtrips import Counts, Pair, add_up, by_machine
from .traces import ProcessTrace, merge, read_trace

WARM_TIMEOUT_S = 120.0
"""Wall seconds a new process may take to import and build its problem."""
READY_TIMEOUT_S = 30.0
"""Wall seconds an assigned process may take to start its nodes' servers."""
FINISH_TIMEOUT_S = 10.0
"""Wall seconds the processes may take to stop and write their traces at the end."""
EXIT_TIMEOUT_S = 5.0
"""Wall seconds the processes that are done may take to exit before they are killed."""
START_MARGIN_S = 0.1
"""Wall seconds between telling every process the start time and the start."""
MAX_SPARES = 2
"""Processes kept warm, ready to take the nodes of a crashed one when its restart is due."""


class EmulationError(RuntimeError):
    """An emulated run failed: a node raised, a process died unbidden, or processes were too slow."""


def default_start_method() -> str:
    """forkserver where there is one (a process starts in milliseconds from a server that imported
    everything once), else spawn; never fork, which would copy the coordinator's threads and loop."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def emulate_scenario(
    scenario: Scenario,
    out: str | Path | None = None,
    *,
    nodes_per_process: int = 1,
    time_scale: float = 1.0,
    start_method: str | None = None,
    bind: str = "127.0.0.1",
    overwrite: bool = False,
    ray: str | None = None,
    placement: str = "spread",
    checkpoint_dir: str | Path | None = None,
    ports: range | None = None,
) -> RunResult:
    """Run `scenario` in real time, one process per `nodes_per_process` nodes; with `out`, write the same
    results directory as a simulated run (and keep the processes' work files in `out`/emulation). `out` is
    checked first, written beside and renamed into place at the end (an existing one replaced only with
    `overwrite`); Ctrl-C publishes the run so far, marked incomplete, and raises Interrupted; an emulation
    that fails leaves nothing. With `ray` (a Ray address, or "auto"), the processes run on that Ray
    cluster's nodes (`placement`: see on_ray.PLACEMENTS), their servers bound to their node's IP. The nodes'
    disks (a shard's checkpoints) go to `checkpoint_dir`/RUN on the machine of each process (RUN names the
    run; on Ray, `checkpoint_dir`/RUN/NODE; kept), else to the work directory (on Ray, a directory in each
    Ray node's temp directory, removed at the end). With `ports`, every server of the run, and the listener
    that Ray's processes dial, listens on the first free port of that range."""
    ray_module = on_ray.connect(ray) if ray is not None else None

    def emulate(workdir: Path) -> RunResult:
        coordinator = Coordinator(
            scenario, workdir, nodes_per_process, time_scale, start_method, bind, checkpoint_dir, ports
        )
        if ray_module is not None:
            coordinator.place_on(ray_module, placement)
        return coordinator.run()

    try:
        return _emulate_into(scenario, out, overwrite, emulate)
    finally:
        if ray_module is not None:
            ray_module.shutdown()


def _emulate_into(
    scenario: Scenario, out: str | Path | None, overwrite: bool, emulate: Callable[[Path], RunResult]
) -> RunResult:

    if out is None:
        with tempdir.work_directory() as workdir:
            return emulate(workdir / "run")  # the coordinator empties its work directory: not the marked one
    writer = ResultsWriter(out, scenario.table, overwrite)
    try:
        result = emulate(writer.staging / "emulation")
    except Interrupted as interrupt:
        writer.publish(interrupt.result, interrupted=True)
        raise
    except BaseException:
        writer.discard()
        raise
    writer.publish(result)
    return result


@dataclass(eq=False)
class _Worker:
    """One process of the run, from its start to its end."""

    number: int
    process: BaseProcess | on_ray.RemoteProcess
    conn: Connection | None
    trace: BinaryIO
    """The process's trace file, where the coordinator appends the chunks that the process sends."""
    slot: int | None
    """The Ray node it runs on (an index into RayPlacement's), None for a local process."""
    workdir: str
    """Where its nodes' disks are, on its machine."""
    group: int | None = None
    warm: asyncio.Event = field(default_factory=asyncio.Event)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    paused: bool = False
    killed: bool = False
    env_steps: int = 0
    actor_steps: dict[str, int] = field(default_factory=dict)
    started: float | None = None
    ended: float | None = None
    clock_offset: float | None = None
    clock_uncertainty: float | None = None

    def record(self, nodes: list[tuple[str, ...]]) -> dict[str, Any]:
        record = {
            "nodes": list(nodes[self.group]) if self.group is not None else [],
            "pid": self.process.pid,
            "exitcode": self.process.exitcode,
            "started": self.started,
            "ended": self.ended,
            "workdir": self.workdir,
            "clock_offset_s": self.clock_offset,
            "clock_uncertainty_s": self.clock_uncertainty,
        }
        if isinstance(self.process, on_ray.RemoteProcess):
            record["ray_node"] = self.process.node
        return record

    def signal(self, number: int) -> None:
        if isinstance(self.process, on_ray.RemoteProcess):
            self.process.send_signal(number)
        else:
            assert self.process.pid is not None
            os.kill(self.process.pid, number)


class Coordinator:
    """Runs one scenario as processes; `run()` returns the RunResult (see the module's docstring)."""

    def __init__(
        self,
        scenario: Scenario,
        workdir: Path,
        nodes_per_process: int = 1,
        time_scale: float = 1.0,
        start_method: str | None = None,
        bind: str = "127.0.0.1",
        checkpoint_dir: str | Path | None = None,
        ports: range | None = None,
    ) -> None:
        if nodes_per_process < 1:
            raise ValueError(f"nodes_per_process must be >= 1, got {nodes_per_process}")
        self.scenario = scenario
        self.config = scenario.config
        names = node_names(self.config)
        self.groups = [names[i : i + nodes_per_process] for i in range(0, len(names), nodes_per_process)]
        self.group_of = {node: g for g, group in enumerate(self.groups) for node in group}
        self.nodes_per_process = nodes_per_process
        between = [f.between for f in scenario.faults if isinstance(f, NetworkFault)]
        self.workdir = workdir
        self.run_id = f"{re.sub(r'[^A-Za-z0-9._-]', '-', scenario.name)}-{time.strftime('%Y%m%d-%H%M%S')}"
        self.run_id += f"-{secrets.token_hex(3)}"
        """Names the run's directory in `checkpoint_dir` (and in each Ray node's temp directory)."""
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.spec = RunSpec(
            config=self.config,
            partitions=tuple(b for b in between if isinstance(b, Partition)),
            degradations=tuple(b for b in between if isinstance(b, Degradation)),
            key=new_key(),
            workdir=workdir if checkpoint_dir is None else Path(checkpoint_dir) / self.run_id,
            time_scale=time_scale,
            bind=bind,
            ports=ports,
        )
        self.clock = RunClock(time_scale)
        self.lifecycle = Trace()
        self.start_method = start_method or default_start_method()
        self._context = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            self._context.set_forkserver_preload([worker_main.__module__])
            tempdir.claim()  # the fork server's socket goes there
        self.workers: list[_Worker] = []
        self._running: list[_Worker | None] = [None] * len(self.groups)
        self._spares: list[_Worker] = []
        self._upcoming: list[int] = []
        """The groups that the plan restarts, in order, from the next restart on."""
        self.addresses = AddressBook()
        self._restarting: dict[int, asyncio.Task[None]] = {}
        self._telling: set[asyncio.Task[None]] = set()
        self._watching: set[asyncio.Task[None]] = set()
        self._factors = dict.fromkeys(names, 1.0)
        self._carried_steps: dict[int, dict[str, int]] = {}
        self._failure: str | None = None
        self._stop: asyncio.Event | None = None
        self._control = SignedClient(self.spec.key, timeout=5.0)
        self._interrupted: float | None = None
        """When Ctrl-C came, in run time."""
        self._ray: on_ray.RayPlacement | None = None

    def place_on(self, ray: Any, placement: str) -> None:
        """Run the processes on the nodes of the Ray cluster that `ray` (the module, connected) drives."""
        checkpoints = None if self.checkpoint_dir is None else str(self.checkpoint_dir)
        self._ray = on_ray.RayPlacement(
            ray, placement, self.start_method, self.spec.key, self.run_id, checkpoints
        )

    def run(self) -> RunResult:
        """Run the emulation; after Ctrl-C (SIGINT), with every process stopped, Interrupted with the run so
        far (what the processes' trace files hold)."""
        if self.workdir.exists():
            shutil.rmtree(self.workdir)  # a previous run's disks would be restored as checkpoints
        (self.workdir / "traces").mkdir(parents=True)
        if self._ray is None:
            try:
                self.spec.workdir.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise EmulationError(
                    f"checkpoint_dir: cannot make {self.spec.workdir}: {error.strerror}"
                ) from None
        try:
            stopped = asyncio.run(self._run())
        except asyncio.CancelledError:
            if self._interrupted is None:
                raise
        finally:
            self._kill_all()
            if self._ray is not None:
                self._ray.close()
        # Checked after the run too: an await that ends as the cancellation arrives can swallow it.
        if self._interrupted is not None:
            raise Interrupted(self._result(self._interrupted))
        return self._result(stopped)

    def _interrupt(self, run: asyncio.Task[float]) -> None:
        self._interrupted = min(self.clock.now(), self.config.max_sim_time)
        run.cancel()

    # -- the run ------------------------------------------------------------------------------------
    async def _run(self) -> float:
        run = asyncio.current_task()
        assert run is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self._interrupt, run)
        self._stop = asyncio.Event()
        until = self.config.max_sim_time
        plan = timeline(self.config, self.scenario.faults, until)
        self._upcoming = [self.group_of[action.node] for action in plan if action.kind == "restart"]
        if self._ray is not None:
            loop = asyncio.get_running_loop()
            try:
                self._ray.listen(
                    lambda number, conn: loop.call_soon_threadsafe(self._connected, number, conn),
                    self.spec.ports,
                )
            except PortsExhausted as error:
                raise EmulationError(str(error)) from None
        try:
            first = [self._spawn(self._slot_of(group)) for group in range(len(self.groups))]
            self._top_up_spares()
            await self._until([w.warm for w in first + self._spares], WARM_TIMEOUT_S, "to start")
            for group, worker in enumerate(first):
                self._assign(worker, group, start=None)
            await self._until([w.ready for w in first], READY_TIMEOUT_S, "to get ready")
            self.clock.started(time.monotonic() + START_MARGIN_S)
            for group, worker in enumerate(first):
                assert worker.conn is not None
                worker.conn.send(("go", self.clock.start))
                self._up(worker, group, 0.0)
            faults = asyncio.get_running_loop().create_task(self._play(plan))
            wait = None if math.isinf(until) else self.clock.wall_until(until)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=wait)
            stopped = min(self.clock.now(), until)
            pending = (faults, *self._restarting.values(), *self._telling, *self._watching)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if self._failure is None:
                await self._finish()
        finally:
            await self._control.close()
        if self._failure is not None:
            raise EmulationError(self._failure)
        return stopped

    async def _until(self, events: Iterable[asyncio.Event], timeout: float, what: str) -> bool:
        """Wait for every event: True once they are set, False if the run stops meanwhile; EmulationError on
        a failure, or after `timeout` wall seconds."""
        assert self._stop is not None
        waiting = asyncio.ensure_future(asyncio.gather(*(event.wait() for event in events)))
        stopping = asyncio.ensure_future(self._stop.wait())
        done, _ = await asyncio.wait(
            [waiting, stopping], timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        waiting.cancel()
        stopping.cancel()
        await asyncio.gather(waiting, stopping, return_exceptions=True)
        if self._failure is not None:
            raise EmulationError(self._failure)
        if not done:
            raise EmulationError(f"processes took over {timeout:.0f} s {what}")
        return waiting in done

    async def _play(self, plan: list[Action]) -> None:
        for action in plan:
            await asyncio.sleep(self.clock.wall_until(action.at))
            self._act(action)

    def _act(self, action: Action) -> None:
        group = self.group_of[action.node]
        worker = self._running[group]
        now = self.clock.now()
        if action.kind == "restart":
            self._upcoming.remove(group)
            if worker is None and group not in self._restarting:
                self._restarting[group] = asyncio.get_running_loop().create_task(self._restart(group))
        elif action.kind == "slow":
            self._factors[action.node] *= action.factor
            if worker is not None:
                task = asyncio.get_running_loop().create_task(self._slow_down(action.node, action.factor))
                self._telling.add(task)
                task.add_done_callback(self._telling.discard)
        elif worker is None:
            return
        elif action.kind == "crash":
            worker.killed = True
            worker.process.kill()
            worker.ended = now
            self._running[group] = None
            self._carried_steps[group] = worker.actor_steps
            self._record(group, "crashed", now)
        elif action.kind == "pause" and not worker.paused:
            worker.signal(signal.SIGSTOP)
            worker.paused = True
            self._record(group, "paused", now)
        elif action.kind == "resume" and worker.paused:
            worker.signal(signal.SIGCONT)
            worker.paused = False
            self._record(group, "resumed", now)

    async def _restart(self, group: int) -> None:
        """Start `group`'s nodes again, in a spare process on the same machine (where their disks are)."""
        slot = self._slot_of(group)
        spares = [spare for spare in self._spares if spare.slot == slot]
        warm = [spare for spare in spares if spare.warm.is_set()]
        worker = (warm or spares or [None])[0]
        if worker is None:
            worker = self._spawn(slot)
        else:
            self._spares.remove(worker)
        self._top_up_spares()
        try:
            if not await self._until([worker.warm], WARM_TIMEOUT_S, "to start"):
                return
            self._assign(worker, group, start=self.clock.start)
            if not await self._until([worker.ready], READY_TIMEOUT_S, "to get ready"):
                return
        except EmulationError as error:
            self._fail(str(error))
            return
        finally:
            del self._restarting[group]
        self._up(worker, group, self.clock.now())

    async def _slow_down(self, node: str, factor: float) -> None:
        """Tell `node`'s server of a slowdown; a node that does not answer gets it when it restarts."""
        address = self.addresses.address(node)
        if address is not None:
            await self._control.post(*address, "/control", f"slow_down={factor!r}".encode())

    async def _finish(self) -> None:
        for worker in self._spares:
            worker.killed = True
            worker.process.kill()
        running = [worker for worker in self._running if worker is not None]
        for worker in running:
            if worker.paused:
                worker.signal(signal.SIGCONT)
            assert worker.conn is not None
            worker.conn.send(("finish",))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(w.done.wait() for w in running)), FINISH_TIMEOUT_S)
        now = self.clock.now()
        for worker in running:
            worker.ended = now

    # -- processes ----------------------------------------------------------------------------------
    def _slot_of(self, group: int) -> int | None:
        """The Ray node (its index) of `group`'s processes, the first and every restarted one."""
        return None if self._ray is None else self._ray.slot_for(group)

    def _spawn(self, slot: int | None) -> _Worker:
        number = len(self.workers)
        trace = (self.workdir / "traces" / f"process-{number}.pickle").open("ab", buffering=0)
        if self._ray is not None:
            assert slot is not None
            process = self._ray.start(number, self.spec, slot)
            worker = _Worker(number, process, None, trace, slot, process.workdir)
            self.workers.append(worker)
            watch = asyncio.get_running_loop().create_task(self._watch(worker, process))
            self._watching.add(watch)
            watch.add_done_callback(self._watching.discard)
            return worker
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=worker_main,
            args=(child, self.spec),
            name=f"gorila-emulation-{number}",
            daemon=True,
        )
        process.start()
        child.close()
        worker = _Worker(number, process, parent, trace, None, str(self.spec.workdir))
        self.workers.append(worker)
        asyncio.get_running_loop().add_reader(parent.fileno(), self._read, worker)
        return worker

    async def _watch(self, worker: _Worker, process: on_ray.RemoteProcess) -> None:
        """Fail the run when a remote process exits unbidden before it dialed back (after, the end of its
        connection says so)."""
        code = await process.exited()
        if worker.conn is None and not worker.killed:
            self._fail(
                f"process {worker.number} on Ray node {process.node} exited (code {code}) before dialing back"
            )

    def _connected(self, number: int, conn: Connection) -> None:
        if not 0 <= number < len(self.workers) or self.workers[number].conn is not None:
            conn.close()  # authenticated, yet no process of the run that waits for its connection
            return
        worker = self.workers[number]
        worker.conn = conn
        asyncio.get_running_loop().add_reader(conn.fileno(), self._read, worker)

    def _top_up_spares(self) -> None:
        """Keep a spare process ready for each of the next MAX_SPARES restarts, on the machine of each."""
        have = [spare.slot for spare in self._spares]
        for group in self._upcoming[:MAX_SPARES]:
            slot = self._slot_of(group)
            if slot in have:
                have.remove(slot)
            else:
                self._spares.append(self._spawn(slot))

    def _assign(self, worker: _Worker, group: int, start: float | None) -> None:
        worker.group = group
        factors = {node: self._factors[node] for node in self.groups[group]}
        steps = self._carried_steps.get(group, {})
        assert worker.conn is not None
        worker.conn.send(("assign", self.groups[group], steps, factors, start, self.addresses.all()))

    def _published(self, worker: _Worker, node: str, address: Address) -> None:
        """Tell every other process with nodes that `node` (of `worker`) listens at `address` now, and
        keep the run's addresses in the work directory (`addresses.json`: node -> [host, port])."""
        self.addresses.update({node: address})
        partial = self.workdir / "addresses.json.partial"
        partial.write_text(json.dumps(self.addresses.all()))
        os.replace(partial, self.workdir / "addresses.json")
        for other in self.workers:
            if other is worker or other.group is None or other.killed or other.done.is_set():
                continue
            assert other.conn is not None
            with contextlib.suppress(OSError):  # it died: its end is read elsewhere
                other.conn.send(("addresses", {node: address}))

    def _up(self, worker: _Worker, group: int, now: float) -> None:
        worker.started = now
        self._running[group] = worker
        self._record(group, "up", now)

    def _read(self, worker: _Worker) -> None:
        assert worker.conn is not None
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            asyncio.get_running_loop().remove_reader(worker.conn.fileno())
            if not (worker.killed or worker.done.is_set()):
                nodes = ", ".join(self.groups[worker.group]) if worker.group is not None else "a spare"
                self._fail(f"the process of {nodes} (pid {worker.process.pid}) exited unbidden")
            return
        kind = message[0]
        if kind == "trace":
            worker.trace.write(message[1])
        elif kind == "time?":
            worker.conn.send(("time", time.monotonic()))
        elif kind == "address":
            self._published(worker, message[1], message[2])
        elif kind == "warm":
            worker.clock_offset, worker.clock_uncertainty = message[1], message[2]
            worker.warm.set()
        elif kind in ("ready", "done"):
            getattr(worker, kind).set()
        elif kind == "progress":
            worker.env_steps, worker.actor_steps = message[1], message[2]
            if sum(w.env_steps for w in self.workers) >= self.config.total_env_steps:
                self._stopping()
        elif kind == "stop":
            self._stopping()
        elif kind == "failed":
            self._fail(message[1])
        elif kind == "error":
            self._fail(f"{message[1]} raised an exception:\n{message[2]}")

    def _record(self, group: int, state: str, now: float) -> None:
        for node in self.groups[group]:
            self.lifecycle.lifecycle(now, node, state)

    def _stopping(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def _fail(self, why: str) -> None:
        if self._failure is None:
            self._failure = why
        self._stopping()

    def _kill_all(self) -> None:
        """Kill every process of the run that is still there (continuing it first, if it is paused); one
        that has said it is done gets a moment to exit by itself."""
        deadline = time.monotonic() + EXIT_TIMEOUT_S
        for worker in self.workers:
            if worker.done.is_set():
                worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    worker.signal(signal.SIGCONT)
                worker.process.kill()
            worker.process.join(timeout=5.0)
            if worker.conn is not None:
                worker.conn.close()
            worker.trace.close()

    # -- results ------------------------------------------------------------------------------------
    def _machines(self) -> dict[str, str]:
        """Each node's machine: the start of its Ray node's id (a group's processes all run on one), or
        "local"."""
        if self._ray is None:
            return dict.fromkeys(self.group_of, "local")
        nodes = [node[: on_ray.NODE_ID_CHARS] for node in self._ray.nodes]
        return {node: nodes[self._ray.slot_for(group)] for node, group in self.group_of.items()}

    @staticmethod
    def _round_trips(processes: list[ProcessTrace]) -> dict[Pair, tuple[Counts, Counts]]:
        pairs: dict[Pair, tuple[Counts, Counts]] = {}
        add_up((process.round_trips for process in processes), pairs)
        return pairs

    def _result(self, stopped: float) -> RunResult:
        processes = [read_trace(worker.trace.name) for worker in self.workers]
        trace = merge(processes, self.lifecycle, self.clock.scale)
        stats = WireStats()
        for process in processes:
            for name, count in process.stats.items():
                setattr(stats, name, getattr(stats, name) + count)
        env_steps = sum(process.env_steps for process in processes)
        # What summarise reads of a simulation and its cluster; "events" are the messages delivered.
        run = SimpleNamespace(
            now=stopped, loop=SimpleNamespace(events=stats.delivered), network=SimpleNamespace(stats=stats)
        )
        cluster = SimpleNamespace(env_steps=env_steps, config=self.config)
        summary = summarise(trace, run, cluster, self.clock.wall(stopped))
        summary["emulation"] = {
            "time_scale": self.clock.scale,
            "nodes_per_process": self.nodes_per_process,
            "start_method": self.start_method,
            "failed_disk_writes": sum(process.failed_writes for process in processes),
            "processes": [worker.record(self.groups) for worker in self.workers],
            "round_trips": by_machine(self._round_trips(processes), self._machines()),
        }
        return RunResult(self.config, trace, summary)
