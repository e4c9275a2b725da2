"""Scale benchmark across two "machines": a plain script, not a test. Needs root (network namespaces).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton CELERY_BROKER_URL=redis://127.0.0.1:6379/15 \\
      .venv/bin/python bench/scale.py [--instances 1000] [--throughput-instances 1000]

Each "machine" is a Linux network namespace made by this script (``bscale-a``,
``bscale-b``) running its own Celery worker (2 processes) and ticker. Its only network
is a veth pair to a bridge on this host (``bscale-br``, 10.231.0.1/24; the machines are
.2 and .3) and it has no default route, so it can reach nothing but that subnet. On the
host end the script serves the connectors' HTTP target and relays PostgreSQL and Redis
to where they listen on 127.0.0.1 (a namespace cannot reach the host's loopback).

The relay is a small TCP forwarder in a child process rather than a DNAT rule or a new
``listen_addresses``: it changes no firewall, sysctl or service configuration that other
users of the host rely on, it listens only on the bridge's address and relays only the two ports, the
services still see a loopback client (so ``pg_hba`` trust and Redis' protected mode hold),
and it dies with the script.

Scratch state of its own: database ``<name>_scale_bench`` (created, dropped at the end),
queue ``baton-scale`` on the configured Redis DB (its keys removed at the end). Steps
have a 30 s lease (``BATON_STEP_LEASE_SECONDS``) so that a killed machine's steps are
taken over within the run. Then, with a timeout on every phase:

1. N instances of a flow of 3 HTTP connector steps with machine a only,
2. N more with machines a and b,
3. N more with both, and when half of them have completed, SIGKILL every process
   in machine b while the HTTP target holds one of b's calls unanswered (its effect
   done, so that step's retry must repeat its idempotency key); machine a must finish them all.

Prints instances/s and steps/s of each phase, then completed / lost / doubled of phase 3.
Leftovers of an earlier run (namespaces and the processes in them, links) are removed
first; everything is removed again on exit, Ctrl-C, SIGTERM or failure. If the script
itself is SIGKILLed, its forwarder dies with it and the next run removes the rest.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import (  # noqa: E402
    CountingTarget,
    Tally,
    connector_flow,
    drop_database,
    recreate_database,
    scratch_database,
    wait,
    worker_and_ticker,
)

PREFIX = "bscale"
BRIDGE = f"{PREFIX}-br"
HOST_ADDRESS = "10.231.0.1"
MACHINES = {"a": "10.231.0.2", "b": "10.231.0.3"}
QUEUE = "baton-scale"
LEASE_SECONDS = 30
# One run at a time on a host: namespaces and the bridge are host-wide names.
LOCK_FILE = Path("/run/lock/baton-scale.lock")
LOG = ROOT / "var" / "scale-processes.log"


def ip(*args: str, check: bool = True) -> str:
    """Run ``ip`` with ``args``; its standard output."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if check and done.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def remove_leftovers(prefix: str = PREFIX) -> list[str]:
    """Kill the processes in, and delete, the namespaces and links whose names start with ``prefix``.

    Returns what was removed. Safe to call when there is nothing to remove.
    """
    removed = []
    for line in ip("netns", "list").splitlines():
        name = line.split()[0] if line.split() else ""
        if not name.startswith(prefix):
            continue
        removed += [f"process {pid} in {name}" for pid in _kill_all_in(name)]
        ip("netns", "delete", name, check=False)  # also deletes the veth end inside it, so its peer
        removed.append(f"namespace {name}")
    for line in ip("-o", "link", "show").splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith(prefix):
            ip("link", "delete", name, check=False)
            removed.append(f"link {name}")
    return removed


def make_network() -> None:
    """The bridge with the host end address, and one namespace per machine on a veth pair to it."""
    if HOST_ADDRESS.rsplit(".", 1)[0] + "." in ip("-o", "-4", "addr", "show"):
        raise SystemExit(f"{HOST_ADDRESS}/24 is already in use on this host; not touching it")
    ip("link", "add", BRIDGE, "type", "bridge")
    ip("addr", "add", f"{HOST_ADDRESS}/24", "dev", BRIDGE)
    ip("link", "set", BRIDGE, "up")
    for machine, address in MACHINES.items():
        ns = f"{PREFIX}-{machine}"
        ip("netns", "add", ns)
        ip("link", "add", ns, "type", "veth", "peer", "name", "eth0", "netns", ns)
        ip("link", "set", ns, "master", BRIDGE, "up")
        ip("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        ip("-n", ns, "link", "set", "lo", "up")


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass


def _serve_relay(listener: socket.socket, target: tuple[str, int]) -> None:
    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(target, timeout=10)
        except OSError:
            client.close()  # the client sees a closed connection, as if the service refused it
            continue
        upstream.settimeout(None)
        for sock in (client, upstream):
            # Database and broker protocols are many small messages: no Nagle delay on the extra hop.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()


def _relay_process(listeners: list[tuple[socket.socket, tuple[str, int]]], parent: int) -> None:
    """Body of the forwarder process: relay each listener to its target until the parent goes."""
    # Ctrl-C reaches the whole process group: the script stops us itself, after its cleanup.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: the kernel ends us when the script dies
    if os.getppid() != parent:
        os._exit(0)
    for listener, target in listeners:
        threading.Thread(target=_serve_relay, args=(listener, target), daemon=True).start()
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def start_relay(targets: list[tuple[str, int]]) -> tuple[multiprocessing.Process, list[int]]:
    """Listen on the host end address for each (host, port) target; the forwarder process and the ports."""
    listeners = []
    for target in targets:
        listener = socket.create_server((HOST_ADDRESS, 0), backlog=128)
        listeners.append((listener, target))
    # fork: the listening sockets pass to the child as they are.
    relay = multiprocessing.get_context("fork").Process(
        target=_relay_process, args=(listeners, os.getpid()), daemon=True
    )
    relay.start()
    ports = [listener.getsockname()[1] for listener, _ in listeners]
    for listener, _ in listeners:
        listener.close()
    return relay, ports


def _via(url: str, port: int) -> str:
    """``url`` pointed at the host end address and the relay's ``port``."""
    parts = urlsplit(url)
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{auth}{HOST_ADDRESS}:{port}"))


def start_machine(machine: str, env: dict[str, str]) -> None:
    """Start a worker (2 processes) and a ticker inside ``machine``'s namespace."""
    ns = f"{PREFIX}-{machine}"
    with open(LOG, "ab") as log:
        for command in worker_and_ticker(f"{QUEUE},{QUEUE}.{machine}"):
            subprocess.Popen(
                ["ip", "netns", "exec", ns, sys.executable, *command],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )


def kill_machine(machine: str) -> int:
    """SIGKILL every process in ``machine``'s namespace; how many there were."""
    return len(_kill_all_in(f"{PREFIX}-{machine}"))


def _kill_all_in(namespace: str) -> list[str]:
    pids = ip("netns", "pids", namespace, check=False).split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


def _queue_size(queue: str) -> int:
    from kombu.exceptions import ChannelError

    from orchestration.celery import app

    with app.connection_for_write() as conn:
        try:
            return int(conn.default_channel.queue_declare(queue, passive=True).message_count)
        except ChannelError:
            return 0  # Redis drops an empty list's key: no queue means no messages


def wait_until_consuming(machine: str) -> None:
    """Send a no-op to the machine's own queue and wait until its worker has taken it."""
    from orchestration.tasks import noop

    noop.apply_async(queue=f"{QUEUE}.{machine}")
    wait(lambda: _queue_size(f"{QUEUE}.{machine}") == 0, 120, f"machine {machine}'s worker start ({LOG})")


def remove_queue_keys() -> None:
    """Delete this run's queues and its unacknowledged messages (a killed worker leaves some) from Redis."""
    from orchestration.celery import app

    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        names = [QUEUE, *(f"{QUEUE}.{m}" for m in MACHINES)]
        bindings = [f"_kombu.binding{kind}.{name}" for name in names for kind in ("", "_permanent")]
        client.delete(*names, *bindings)
        for tag, raw in client.hscan_iter("unacked"):
            _message, _exchange, routing_key = json.loads(raw)
            if routing_key in names:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)


def kill_mid_call(target: CountingTarget, machine: str) -> tuple[int, bool]:
    """Kill ``machine`` while the target holds one of its requests unanswered; (processes, whether mid-call).

    The request is recorded (its effect done) before the kill, so the step's retry must
    repeat its idempotency key. If no request comes from the machine within 60 s, kill anyway.
    """
    lock, done = threading.Lock(), threading.Event()
    killed = [0]

    def kill_on_call(client: str) -> None:
        with lock:
            if client == MACHINES[machine] and not done.is_set():
                killed[0] = kill_machine(machine)
                done.set()

    target.before_reply = kill_on_call
    try:
        if done.wait(60):
            return killed[0], True
        with lock:
            done.set()
            return kill_machine(machine), False
    finally:
        target.before_reply = None


def run_phase(name: str, xml: str, n: int, target: CountingTarget, *, kill: str = "") -> dict[str, Any]:
    """Start ``n`` instances and wait for all to end; with ``kill``, kill that machine when half have completed."""
    from orchestration.definitions import create_workflow, publish_version
    from orchestration.engine import start_instance
    from orchestration.models import ProcessInstance, Step

    version = publish_version(create_workflow(f"scale-{name}", f"Scale {name}", xml))
    clients = Counter(target.clients)
    started = time.perf_counter()
    ids = [start_instance(version, {}).id for _ in range(n)]
    instances = ProcessInstance.objects.filter(id__in=ids)
    completed = instances.filter(status=ProcessInstance.Status.COMPLETED)
    if kill:
        wait(lambda: completed.count() >= n // 2, 300 + n, f"phase {name} (half completed)")
        processes, mid_call = kill_mid_call(target, kill)
        print(
            f"  killed all {processes} processes of machine {kill} {'during one of its HTTP calls ' if mid_call else ''}"
            f"at {completed.count()}/{n} completed; "
            f"steps running: {Step.objects.filter(instance_id__in=ids, status=Step.Status.RUNNING).count()}"
        )
    # Bounded: two seconds an instance is 4 times slower than the slowest rate seen on a loaded host;
    # a step of the killed machine also waits out its lease, then its retry backoff.
    running = instances.filter(status=ProcessInstance.Status.RUNNING)
    wait(lambda: not running.exists(), 300 + 2 * n + 4 * LEASE_SECONDS, f"phase {name}")
    elapsed = time.perf_counter() - started
    return {
        "ids": ids,
        "elapsed": elapsed,
        "steps": Step.objects.filter(instance_id__in=ids).count(),
        "completed": completed.count(),
        "calls": {m: target.clients[address] - clients[address] for m, address in MACHINES.items()},
    }


def doubled_steps(ids: list[int]) -> int:
    """(instance, block) pairs with more than one ``step.completed`` event: a step that completed twice."""
    from django.db.models import Count

    from orchestration.models import Event

    return (
        Event.objects.filter(instance_id__in=ids, kind="step.completed")
        .values("instance_id", "step__node_id")
        .annotate(times=Count("id"))
        .filter(times__gt=1)
        .count()
    )


def _print_throughput(label: str, result: dict[str, Any], n: int) -> None:
    print(
        f"{label:>22}: {n / result['elapsed']:7.1f} instances/s {result['steps'] / result['elapsed']:7.1f} steps/s "
        f"({result['completed']}/{n} completed in {result['elapsed']:.1f} s; HTTP calls by machine: "
        + ", ".join(f"{m} {calls}" for m, calls in result["calls"].items())
        + ")"
    )


@contextmanager
def _one_run_at_a_time() -> Iterator[None]:
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"another bench/scale.py holds {LOCK_FILE}") from None
        yield


def _environment() -> tuple[str, str]:
    """Point this process at the scratch database and queue; the original database and broker URLs."""
    database, broker = os.environ.get("DATABASE_URL", ""), os.environ.get("CELERY_BROKER_URL", "")
    if not database.startswith("postgres") or not broker.startswith("redis"):
        raise SystemExit("bench/scale.py needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://…")
    os.environ["DATABASE_URL"] = scratch_database("scale_bench")
    os.environ["BATON_QUEUE"] = QUEUE
    os.environ["BATON_STEP_LEASE_SECONDS"] = str(LEASE_SECONDS)
    os.environ.setdefault("BATON_TICK_SECONDS", "0.2")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestration.settings")
    return os.environ["DATABASE_URL"], broker


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--instances", type=int, default=1000, help="instances of the kill phase (default 1000)"
    )
    parser.add_argument(
        "--throughput-instances", type=int, help="instances of each throughput phase (default: --instances)"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/scale.py makes network namespaces: run it as root")
    database, broker = _environment()
    with _one_run_at_a_time():
        for leftover in remove_leftovers():
            print(f"removed leftover {leftover}")
        # Ctrl-C and SIGTERM both end in the finally below.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        relay = None
        try:
            make_network()
            db, redis = urlsplit(database), urlsplit(broker)
            relay, (db_port, redis_port) = start_relay(
                [
                    (db.hostname or "127.0.0.1", db.port or 5432),
                    (redis.hostname or "127.0.0.1", redis.port or 6379),
                ]
            )
            _bench(
                args.instances,
                args.throughput_instances or args.instances,
                _via(database, db_port),
                _via(broker, redis_port),
            )
        finally:
            removed = remove_leftovers()
            print(
                f"cleaned up: {len(removed)} namespaces, links and processes; the scratch database and queue"
            )
            if relay is not None:
                relay.kill()
                relay.join(10)
            _drop_scratch_state()


def _drop_scratch_state() -> None:
    import django

    try:
        django.setup()
        remove_queue_keys()
        drop_database()
    except Exception as exc:  # cleanup must not hide the benchmark's own error
        print(f"could not remove the scratch database or queue: {exc}", file=sys.stderr)


def _bench(n: int, per_throughput_phase: int, database: str, broker: str) -> None:
    import django

    django.setup()
    recreate_database()
    env = {**os.environ, "DATABASE_URL": database, "CELERY_BROKER_URL": broker}
    target = CountingTarget(HOST_ADDRESS)
    target.start()
    try:
        xml = connector_flow(target.url)
        print(
            f"machines: {', '.join(f'{m} {a}' for m, a in MACHINES.items())}; host end {HOST_ADDRESS} "
            f"(PostgreSQL, Redis relayed to 127.0.0.1; HTTP target {target.url}); "
            f"N={per_throughput_phase} per throughput phase, {n} in the kill phase"
        )
        start_machine("a", env)
        wait_until_consuming("a")
        one = run_phase("one", xml, per_throughput_phase, target)
        _print_throughput("1 machine", one, per_throughput_phase)
        start_machine("b", env)
        wait_until_consuming("b")
        two = run_phase("two", xml, per_throughput_phase, target)
        _print_throughput("2 machines", two, per_throughput_phase)
        kill = run_phase("kill", xml, n, target, kill="b")
        _print_throughput("2 machines, b killed", kill, n)
        _print_outcome(kill, n, target.tally({str(i) for i in kill["ids"]}))
    finally:
        target.stop()


def _print_outcome(result: dict[str, Any], n: int, tally: Tally) -> None:
    from orchestration.models import Incident

    doubled = doubled_steps(result["ids"])
    incidents = Incident.objects.filter(instance_id__in=result["ids"]).count()
    print(
        f"after killing machine b halfway: completed {result['completed']} / lost {n - result['completed']} / "
        f"doubled {tally.doubled_effects + tally.key_conflicts + doubled} ({incidents} incidents)"
    )
    print(
        "  lost = instances not completed. doubled = (a) steps the HTTP target applied under two\n"
        "  idempotency keys (same instance, same step), plus (b) keys it received with two different\n"
        "  bodies, plus (c) steps completed twice (two step.completed events for one block of one\n"
        f"  instance): {tally.doubled_effects} + {tally.key_conflicts} + {doubled}."
    )
    print(
        f"  the target received {tally.requests} requests for {tally.applied} keys: {tally.repeats} repeated a "
        "key with the same body\n  (a step run again after its worker died, answered from the record: "
        "not doubled)"
    )


if __name__ == "__main__":
    main()
