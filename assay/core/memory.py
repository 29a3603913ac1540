"""How much more memory this process may use, and a guard that refuses an image before it is decoded.

The budget is the tightest of the limits that apply to the process, each less what it counts
as used now:

- ``ulimit -v`` (``RLIMIT_AS``, against the address space, ``VmSize``, at least :data:`AS_FLOOR`) and
  ``ulimit -d`` (``RLIMIT_DATA``, against private writable memory, ``VmData``);
- the cgroup's ``memory.max`` (against the cgroup's ``memory.current``);
- the share of the budget a pool gave this worker (:func:`set_share`, against its resident size);
- ``ASSAY_MEMORY_BUDGET`` (bytes, against the resident size) or, without it, the free memory
  (``MemAvailable``).

An image's decoded size (width x height x channels, read from its header) times the working
set of the command that reads it (:data:`WORK`, bytes held per decoded byte, measured in
docs/limits.md) must fit the budget; otherwise the file gets a one-line reason and the batch
goes on. A pool of worker processes is sized so that each keeps at least :data:`WORKER_BYTES`.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

from assay.core.errors import ImageError, InputError

ENV_VAR = "ASSAY_MEMORY_BUDGET"
GiB = 1 << 30
MiB = 1 << 20
#: command -> bytes it holds per decoded image byte at its peak (docs/limits.md), beyond the process itself
WORK: dict[str, float] = {"decode": 2.5, "scan": 4.5, "verify": 3.5, "stamp": 4.5, "prepare": 4.5}
#: the address space a command reaches even on a small image, counted as used against ``ulimit -v`` when less is taken
#: yet: the libraries reserve more after decoding (threads' stacks, malloc arenas). Verify and stamp of a 300 px
#: image peak at 630 and 650 MiB of it (VmPeak), with about 250 MiB taken when they decode.
AS_FLOOR = 672 * MiB
#: the least a pool worker is given: the models it loads and a 12-megapixel photo's working set
WORKER_BYTES = 768 * MiB
_CGROUP = Path("/sys/fs/cgroup")
#: this process's share of a pool's budget: (resident size when given, bytes given), see :func:`set_share`
_share: tuple[int, int] | None = None


@dataclass(frozen=True)
class Budget:
    """A limit on this process's memory: ``limit`` bytes, of which ``used`` are counted as used now."""

    limit: int
    used: int
    source: str

    @property
    def headroom(self) -> int:
        return max(0, self.limit - self.used)


def _status() -> dict[str, int]:
    """``/proc/self/status``'s memory sizes (VmSize, VmData, VmRSS, ...) in bytes; empty where there is none."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return {}
    sizes = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            sizes[key] = int(value.split()[0]) * 1024
    return sizes


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _cgroup() -> Budget | None:
    """The cgroup v2 ``memory.max`` of this process (None where there is no limit)."""
    try:
        rel = next(line[3:] for line in Path("/proc/self/cgroup").read_text().splitlines() if line.startswith("0::"))
    except (OSError, StopIteration):
        return None
    folder = _CGROUP / rel.lstrip("/")
    limit, used = _read_int(folder / "memory.max"), _read_int(folder / "memory.current")
    return None if limit is None or used is None else Budget(limit, used, "the cgroup's memory.max")


def env_budget() -> int | None:
    """``ASSAY_MEMORY_BUDGET`` in bytes, or None when unset; a value that is not a positive whole number is refused."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) == 0:
        raise InputError(f"{ENV_VAR} must be a positive number of bytes, got {raw!r}")
    return int(raw)


def budgets() -> list[Budget]:
    """Every limit that applies to this process now."""
    status = _status()
    rss = status.get("VmRSS", 0)
    found = []
    for which, name, used, floor in ((resource.RLIMIT_AS, "ulimit -v", "VmSize", AS_FLOOR),
                                     (resource.RLIMIT_DATA, "ulimit -d", "VmData", 0)):
        soft = resource.getrlimit(which)[0]
        if soft != resource.RLIM_INFINITY and used in status:
            found.append(Budget(soft, max(status[used], floor), name))
    cgroup = _cgroup()
    if cgroup is not None:
        found.append(cgroup)
    if _share is not None:
        found.append(Budget(_share[0] + _share[1], rss, "this worker's share of the pool's budget"))
    explicit = env_budget()
    if explicit is not None:
        found.append(Budget(explicit, rss, ENV_VAR))
    else:
        available = _free_memory()
        if available is not None:
            found.append(Budget(rss + available, rss, "the free memory"))
    return found


def _free_memory() -> int | None:
    try:
        line = next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemAvailable:"))
    except (OSError, StopIteration):
        return None
    return int(line.split()[1]) * 1024


def budget() -> Budget | None:
    """The tightest limit on this process (the least headroom), None where none can be read."""
    return min(budgets(), key=lambda b: b.headroom, default=None)


def size(n: float) -> str:
    """Bytes for people: ``1.2 GiB``, ``340 MiB``."""
    return f"{n / GiB:.1f} GiB" if n >= GiB else f"{n / MiB:.0f} MiB"


def check_decode(width: int, height: int, channels: int, command: str = "decode") -> None:
    """Refuse, with a one-line :class:`ImageError`, an image whose decoded pixels (``width`` x ``height`` x
    ``channels``, at least the 3 of RGB) times ``command``'s working set would not fit the budget."""
    decoded = width * height * max(channels, 3)
    need = int(decoded * WORK[command])
    limit = budget()
    if limit is not None and need > limit.headroom:
        raise ImageError(f"too large for memory: {width}x{height} x {max(channels, 3)} channels = {size(decoded)} "
                         f"decoded, {command} needs about {size(need)} but {size(limit.headroom)} is left under "
                         f"{limit.source} (raise {ENV_VAR} or the limit, or use fewer workers)")


def pool_size(workers: int) -> tuple[int, Budget | None]:
    """How many of ``workers`` processes fit the budget at :data:`WORKER_BYTES` each (at least one), and the budget."""
    limit = budget()
    if limit is None:
        return workers, None
    return max(1, min(workers, limit.headroom // WORKER_BYTES)), limit


def set_share(share: int) -> None:
    """Give this process (a pool worker) ``share`` bytes beyond its resident size now, as one more limit."""
    global _share
    _share = (_status().get("VmRSS", 0), share)
