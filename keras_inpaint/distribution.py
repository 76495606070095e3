"""Where ``train`` runs: one device, every local device, or several machines, on ``tf.distribute``.

Three strategies, by name (:data:`STRATEGIES`):

* ``"default"``: TensorFlow's default strategy (one device: the first GPU, else the CPU);
* ``"mirrored"``: ``tf.distribute.MirroredStrategy`` over every local GPU, or over
  ``cpu_devices`` logical CPU devices on a machine without one (tests, benchmarks);
* ``"multi-worker"``: ``tf.distribute.MultiWorkerMirroredStrategy`` (synchronous data
  parallelism across processes and machines, all-reduce by collective ops) configured from the
  ``TF_CONFIG`` environment variable, the cluster description that Kubernetes' TFJob, Vertex AI
  and Slurm launchers (``SlurmClusterResolver``) write: ``{"cluster": {"worker": ["host:port",
  ...]}, "task": {"type": "worker", "index": i}}``, optionally with a ``"chief"`` job.

``TF_CONFIG`` is checked here, before TensorFlow starts, so a malformed one is one line
(:class:`~keras_inpaint.errors.ConfigError`). TensorFlow waits for the other workers forever
and, when a worker hangs, may wait forever in the next all-reduce; :class:`Watchdog` and
:func:`supervise` turn both into one line and exit status 1 after ``timeout`` seconds without
progress. (A worker that dies is noticed by TensorFlow's heartbeats within seconds.)
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass

from keras_inpaint.errors import ConfigError

STRATEGIES = ("default", "mirrored", "multi-worker")

_ADDRESS = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


@dataclass(frozen=True)
class ClusterTask:
    """This process's place in a ``TF_CONFIG`` cluster.

    ``workers``: the ``host:port`` of every training process, chief first (TensorFlow's
    order); ``rank``: this process's position there; rank 0 is the chief, the one process
    that writes the run's results.
    """

    workers: tuple[str, ...]
    task_type: str
    task_index: int
    rank: int

    @property
    def is_chief(self) -> bool:
        return self.rank == 0

    @property
    def count(self) -> int:
        return len(self.workers)


def read_tf_config(text: str | None) -> ClusterTask:
    """Parse and check a ``TF_CONFIG`` value; :class:`ConfigError` (one line) if it is missing or malformed."""
    if not text or not text.strip():
        raise ConfigError("--strategy multi-worker needs the TF_CONFIG environment variable (the cluster spec: "
                          '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": 0}}).')
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"TF_CONFIG is not valid JSON: {e.msg} at character {e.pos}.") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict) \
            or not isinstance(config.get("task"), dict):
        raise ConfigError('TF_CONFIG must be an object with "cluster" and "task" objects.')
    cluster, task = config["cluster"], config["task"]
    for job, addresses in cluster.items():
        if not isinstance(addresses, list) or not addresses:
            raise ConfigError(f"TF_CONFIG cluster job {job!r} must be a non-empty list of \"host:port\" strings.")
        for address in addresses:
            if not isinstance(address, str) or not _ADDRESS.match(address) or not 0 < int(address.rsplit(":", 1)[1]) < 65536:
                raise ConfigError(f"TF_CONFIG cluster job {job!r}: {address!r} is not a \"host:port\" address.")
    unknown = sorted(set(cluster) - {"chief", "worker", "evaluator", "ps"})
    if unknown or "ps" in cluster:
        raise ConfigError(f"TF_CONFIG jobs {unknown or ['ps']} are not used by MultiWorkerMirroredStrategy "
                          "(it takes \"chief\" and \"worker\").")
    if len(cluster.get("chief", [])) > 1:
        raise ConfigError("TF_CONFIG may name one chief only.")
    training = [*(("chief", i) for i in range(len(cluster.get("chief", [])))),
                *(("worker", i) for i in range(len(cluster.get("worker", []))))]
    if not training:
        raise ConfigError('TF_CONFIG cluster has no "worker" (or "chief") job.')
    task_type, index = task.get("type"), task.get("index", 0)
    if task_type not in ("chief", "worker") or not isinstance(index, int) or isinstance(index, bool):
        raise ConfigError(f'TF_CONFIG task must be {{"type": "chief" or "worker", "index": N}}; got {task}.')
    if (task_type, index) not in training:
        raise ConfigError(f"TF_CONFIG task {task_type} {index} is not in its cluster "
                          f"({len(cluster.get(task_type, []))} {task_type} address(es)).")
    addresses = tuple(cluster[job][i] for job, i in training)
    if len(set(addresses)) != len(addresses):
        raise ConfigError("TF_CONFIG names the same host:port twice.")
    return ClusterTask(addresses, task_type, index, training.index((task_type, index)))


def tf_config(workers: list[str], index: int) -> str:
    """The ``TF_CONFIG`` of worker ``index`` (0: the chief) of a cluster of ``workers`` (``host:port``)."""
    return json.dumps({"cluster": {"worker": list(workers)}, "task": {"type": "worker", "index": index}})


def free_loopback_workers(count: int) -> list[str]:
    """``count`` ``127.0.0.1:port`` addresses on ports free now: a cluster on one machine (tests,
    benchmarks, trying ``--strategy multi-worker`` out)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    finally:
        for s in sockets:
            s.close()


def cluster_task(environ=None) -> ClusterTask:
    """This process's :class:`ClusterTask`, from ``TF_CONFIG`` in ``environ`` (default ``os.environ``)."""
    return read_tf_config((os.environ if environ is None else environ).get("TF_CONFIG"))


def make_strategy(name: str, cpu_devices: int | None = None):
    """The ``tf.distribute.Strategy`` called ``name`` (:data:`STRATEGIES`).

    ``"multi-worker"`` checks ``TF_CONFIG`` first and must be called before TensorFlow runs
    anything else in the process (TensorFlow configures its collective ops when the strategy is
    created). ``cpu_devices`` splits the CPU into that many logical devices for ``"mirrored"``
    on a machine without a GPU (default 1; also before TensorFlow runs anything).
    """
    if name not in STRATEGIES:
        raise ConfigError(f"unknown strategy {name!r}; choose one of {STRATEGIES}.")
    if name == "multi-worker":
        cluster_task()  # one line for a missing or malformed TF_CONFIG, before TensorFlow starts
    import keras

    if keras.config.backend() != "tensorflow":
        if name == "default":
            return None  # Keras's own placement (keras.distribution, if one is set)
        raise ConfigError(f"strategy {name!r} is TensorFlow's (tf.distribute); on the {keras.config.backend()} "
                          "backend distribute with keras.distribution (e.g. DataParallel) instead.")
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if tf.config.list_physical_devices("GPU"):  # (listing physical devices leaves them configurable)
        return tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("GPU")])
    if cpu_devices and cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_devices)
        except RuntimeError:  # TensorFlow has already run something in this process
            if len(tf.config.list_logical_devices("CPU")) != cpu_devices:
                raise ConfigError(f"cannot split the CPU into {cpu_devices} devices: TensorFlow has already "
                                  "started in this process (make the strategy first).") from None
    return tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])


def replica_count(strategy) -> int:
    """How many replicas ``strategy`` (or ``None``: no ``tf.distribute`` strategy) trains on."""
    return 1 if strategy is None else strategy.num_replicas_in_sync


def worker_rank(strategy) -> tuple[int, int]:
    """(this process's rank, number of processes) of ``strategy``: (0, 1) unless it is multi-worker."""
    if strategy is None:
        return 0, 1
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return 0, 1
    task = read_tf_config(json.dumps({"cluster": resolver.cluster_spec().as_dict(),
                                      "task": {"type": resolver.task_type, "index": resolver.task_id}}))
    return task.rank, task.count


HEARTBEAT_FD = "KERAS_INPAINT_HEARTBEAT_FD"


def stall_message(timeout: float, doing: str) -> str:
    return (f"no progress for {timeout:g} s {doing}: a worker stopped or cannot be reached; start every "
            "worker again with the same command to resume from the last finished epoch.")


class Watchdog:
    """Watches a multi-worker run for ``timeout`` seconds without :meth:`kick`.

    A synchronous all-reduce waits for every worker, and TensorFlow waits for the cluster to
    form without a time limit, sometimes inside a call that holds the interpreter, where no
    Python thread (and no signal handler) runs again. So the timeout is applied by another
    process when there is one: under :func:`supervise` (``keras-inpaint train``) each kick is
    a line written to the pipe it opened (``KERAS_INPAINT_HEARTBEAT_FD``). Without one, a thread
    of this process ends it with one line on stderr and exit status 1 (``os._exit``; what was
    committed stays), which works whenever TensorFlow releases the interpreter, as it does
    while it computes or waits in a collective.
    """

    def __init__(self, timeout: float):
        self.timeout = float(timeout)
        self._last = time.monotonic()
        self._doing = ""
        self._armed = False
        self._stop = threading.Event()
        fd = os.environ.get(HEARTBEAT_FD)
        self._pipe = int(fd) if fd and fd.isdigit() else None
        self._thread = None if self._pipe is not None else \
            threading.Thread(target=self._watch, name="keras_inpaint-watchdog", daemon=True)

    def start(self, doing: str) -> "Watchdog":
        self._armed = True
        self.kick(doing)
        if self._thread is not None and not self._thread.is_alive():
            self._thread.start()
        return self

    def kick(self, doing: str | None = None) -> None:
        """Progress was made; ``doing`` names what is waited for next (for the message)."""
        self._last = time.monotonic()
        self._doing = doing or self._doing
        if self._pipe is not None:
            try:
                os.write(self._pipe, f"{'armed' if self._armed else 'disarmed'} {self._doing}\n".encode())
            except OSError:  # the supervisor is gone (killed): a run nobody watches must not go on
                sys.stderr.write("keras-inpaint: error: the supervising keras-inpaint process is gone; stopping.\n")
                sys.stderr.flush()
                os._exit(1)

    def disarm(self) -> None:
        self._armed = False
        self.kick()

    def stop(self) -> None:
        self.disarm()
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(min(1.0, self.timeout / 10)):
            if self._armed and time.monotonic() - self._last > self.timeout:
                sys.stderr.write(f"keras-inpaint: error: {stall_message(self.timeout, self._doing)}\n")
                sys.stderr.flush()
                os._exit(1)


def supervise(argv: list[str], timeout: float) -> int:
    """Run ``argv`` (a training process whose :class:`Watchdog` kicks through a pipe) and apply
    the timeout from outside: after ``timeout`` seconds without a kick while armed, kill it
    (SIGKILL: a process blocked in TensorFlow may ignore SIGTERM), print one line and return 1.
    Otherwise return its exit status (128 + N for a signal N). SIGINT and SIGTERM received
    here are passed on (once each), and the child's own handling (exit 130 / 143) decides. The
    child runs in its own session; if this process is killed, the child's next heartbeat fails
    and it stops (:class:`Watchdog`)."""
    import select
    import signal
    import subprocess

    read_fd, write_fd = os.pipe()
    try:  # Python's stderr: descriptor 2 may have been silenced for native log lines (console.py)
        stderr = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        stderr = None
    # Its own session: a Ctrl-C at the terminal reaches this process only, which passes it on once
    # (reaching both, the child would get it twice and could be interrupted in its clean-up).
    child = subprocess.Popen(argv, env={**os.environ, HEARTBEAT_FD: str(write_fd)}, pass_fds=(write_fd,),
                             stderr=stderr, start_new_session=True)
    os.close(write_fd)
    state, last, pending = ("armed", "waiting for the other workers to join"), time.monotonic(), b""

    def status() -> int:
        code = child.wait()
        return 128 - code if code < 0 else code

    forwarded = set()

    def forward(number, frame):
        if child.poll() is None and number not in forwarded:
            forwarded.add(number)
            child.send_signal(number)

    previous = {n: signal.signal(n, forward) for n in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            ready, _, _ = select.select([read_fd], [], [], 0.5)
            if ready:
                data = os.read(read_fd, 65536)
                if not data:  # the child closed its end: it has ended
                    return status()
                *lines, pending = (pending + data).split(b"\n")
                if lines:
                    armed, _, doing = lines[-1].decode(errors="replace").partition(" ")
                    state = (armed, doing or state[1])
                last = time.monotonic()
            elif child.poll() is not None:
                return status()
            if state[0] == "armed" and time.monotonic() - last > timeout:
                child.kill()
                child.wait()
                sys.stderr.write(f"keras-inpaint: error: {stall_message(timeout, state[1])}\n")
                return 1
    finally:
        os.close(read_fd)
        for number, handler in previous.items():
            signal.signal(number, handler)


def cluster_minimum(strategy, value: int) -> int:
    """The smallest of every process's ``value`` (an all-reduce: every process must call it)."""
    import tensorflow as tf

    replicas = replica_count(strategy)
    if replicas == 1:
        return int(value)
    values = strategy.experimental_distribute_values_from_function(
        lambda context: tf.one_hot(context.replica_id_in_sync_group, replicas, dtype=tf.int64) * int(value))
    return int(tf.reduce_min(strategy.reduce("SUM", values, axis=None)))


def replica_local(variables) -> list:
    """The float variables of ``variables`` that each replica updates on its own: non-trainable,
    created without an aggregation (Keras 3's BatchNormalization moving mean and variance)."""
    return [v for v in variables if not v.trainable and v.aggregation == "none" and "float" in str(v.dtype)]


def average_over_replicas(strategy, variables) -> int:
    """Replace each of ``variables`` (floats) by its mean over every replica of ``strategy`` (one
    all-reduce for all of them: every process must call it); returns how many were averaged.

    For the state each replica updates from its own batches (:func:`replica_local`; under
    ``tf.distribute`` the workers' copies of BatchNormalization's statistics drift apart, and so
    does a moving average of them). Averaging them (after every epoch, before a checkpoint or a
    preset is written) gives every worker, and the chief's preset, the statistics of the whole
    global batch stream, as tf.keras's MEAN aggregation did.
    """
    import tensorflow as tf

    chosen = [v for v in variables if "float" in str(v.dtype)]
    if replica_count(strategy) == 1 or not chosen:
        return 0
    local = [strategy.experimental_local_results(v.value) for v in chosen]
    count = len(local[0])

    def flat(context):
        index = context.replica_id_in_sync_group % count  # replicas are numbered worker by worker
        return tf.concat([tf.reshape(tf.cast(copies[index], tf.float32), [-1]) for copies in local], axis=0)

    mean = strategy.reduce("MEAN", strategy.experimental_distribute_values_from_function(flat), axis=None)
    start = 0
    for v in chosen:
        size = math.prod(v.shape)
        v.assign(tf.cast(tf.reshape(mean[start:start + size], v.shape), v.dtype))
        start += size
    return len(chosen)
