"""The one training loop for every GAN family.

A family contributes networks (``forge.networks``, built from keyword arguments), what its generator
is fed (``forge.inputs``), a loss (``forge.losses``) and regularisers on either side
(``forge.regularizers``), each found by name in its registry; stabilisers are config switches, and a
resolution schedule (``forge.schedule``) grows the networks progressively. Each step: ``n_critic`` D updates, then
one G update (optionally against an unrolled D), then EMA. All randomness of a step comes
from a generator seeded by (seed, step, rank), so a resumed run follows the uninterrupted curve
bit for bit and each torchrun rank draws its own share of the data.
"""

from __future__ import annotations

import contextlib
import copy
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from torch import nn

from assay.core import locks
from assay.core.config import to_dict
from assay.core.devices import (
    Dist,
    agree_max,
    autocast,
    broadcast,
    choose_threads,
    memory_format,
    pick_device,
    setup,
    wrap,
)
from assay.core.fileio import (
    append_jsonl,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_jsonl,
    read_json,
    read_jsonl,
)
from assay.core.imagesets import open_set
from assay.core.workspace import Workspace
from assay.forge import checkpoint
from assay.forge.conditions import keys_of
from assay.forge.config import GanConfig, load_config, override
from assay.forge.data import FaceBatches, to_float
from assay.forge.diffaug import policy
from assay.forge.ema import ema_beta, update_ema
from assay.forge.evaluation import TrainingEval
from assay.forge.grids import grid_image
from assay.forge.health import TrainingError, collapse, diversity, finite
from assay.forge.inputs import INPUTS, Inputs, to_device
from assay.forge.losses import LOSSES
from assay.forge.networks import construct
from assay.forge.optim import OPTIMIZERS
from assay.forge.regularizers import GContext, active, lazy_scaled
from assay.forge.schedule import blend, lod_at, set_lod
from assay.forge.stopping import (
    CODES,
    INTERRUPT,
    STEPS,
    Stopper,
    TrainingInterrupted,
    parse_duration,
)
from assay.provenance import require_training_consent


def step_seed(seed: int, step: int, rank: int) -> int:
    return (seed * 1_000_003 + step) * 131 + rank


class GANTrainer:
    """Networks, optimisers and the step of one run; the loop around it is :class:`Loop`."""

    def __init__(self, cfg: GanConfig, classes: Sequence[int] = (), device: torch.device | None = None,
                 dist: Dist = Dist()) -> None:
        self.cfg, self.dist = cfg, dist
        self.device = device or pick_device(cfg.device)
        torch.manual_seed(cfg.seed)
        g, d = cfg.networks(classes)
        fmt = memory_format(self.device)
        self.g_net = g.to(self.device, memory_format=fmt)
        self.d_net = d.to(self.device, memory_format=fmt)
        self.ema = copy.deepcopy(self.g_net).eval().requires_grad_(False) if cfg.ema > 0 else None
        self.G = wrap(self.g_net, dist, self.device)
        self.D = wrap(self.d_net, dist, self.device)
        self.g_fwd = torch.compile(self.g_net) if cfg.compile else self.g_net
        self.d_fwd = torch.compile(self.d_net) if cfg.compile else self.d_net
        self.regs = active(to_dict(cfg))
        self.d_regs = [r for r in self.regs if r.side == "D"]
        self.g_regs = [r for r in self.regs if r.side == "G"]
        make_opt = OPTIMIZERS.get(cfg.optimizer)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = make_opt(self.g_net.parameters(), *lazy_scaled(cfg.lr_g, betas, self.g_regs))
        self.opt_d = make_opt(self.d_net.parameters(), *lazy_scaled(cfg.lr_d, betas, self.d_regs))
        self.loss = LOSSES.get(cfg.loss)
        self.inputs = construct(INPUTS, cfg.g.inputs, cfg.input_options(classes))
        self.augment = policy(cfg.diffaug)
        self.step = 0
        self.backed_off = False

    # -- one step ------------------------------------------------------------------------------
    def autocast(self) -> contextlib.AbstractContextManager:
        return autocast(self.device)

    def _prepare(self, images: torch.Tensor, cond: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        fmt = memory_format(self.device)
        real = to_float(images.to(self.device, non_blocking=True)).contiguous(memory_format=fmt)
        return real, (cond.to(self.device) if cond is not None else None)

    def _aug(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return self.augment(x, gen) if self.augment is not None else x

    def d_update(self, real: torch.Tensor, cond: torch.Tensor | None, gen: torch.Generator,
                 measure: bool = False, keep_fake: bool = False) -> dict[str, float | torch.Tensor]:
        """One discriminator update on a real batch and a fresh fake batch. With ``keep_fake`` the fake
        batch keeps its graph and is returned as ``"fake"`` with its ``"inputs"`` for the G update (one G
        forward per step)."""
        inputs = self.inputs(real, cond, gen)
        with torch.set_grad_enabled(keep_fake), self.autocast():
            fake = self.G(**inputs) if keep_fake else self.g_fwd(**inputs)
        real_a, fake_a = self._aug(real, gen), self._aug(fake.detach().to(real.dtype), gen)
        with self.autocast():
            r, f = self.D(real_a, cond), self.D(fake_a, cond)
        loss = self.loss.d(r.float(), f.float())
        out: dict[str, float | torch.Tensor] = {"d_loss": loss.detach()}
        total = loss
        critic = (lambda x: self.d_fwd(x, cond).float())
        for reg in self.d_regs:
            if not reg.due(self.step):
                continue
            with self.autocast():
                pen = reg.penalty(critic, real_a, fake_a, gen)
            if pen is not None:
                total = total + pen * reg.every
                out[type(reg).__name__] = pen.detach()
        self.opt_d.zero_grad(set_to_none=True)
        total.backward()
        if measure:
            out["grad_norm_d"] = _grad_norm(self.d_net)
        self.opt_d.step()
        for reg in self.d_regs:
            reg.after_step(self.d_net)
        if keep_fake:
            out["fake"], out["inputs"] = fake, inputs
        return out

    def g_update(self, real: torch.Tensor, cond: torch.Tensor | None, gen: torch.Generator,
                 measure: bool = False, fake: torch.Tensor | None = None,
                 inputs: Inputs | None = None) -> dict[str, float | torch.Tensor]:
        """One generator update (on ``fake`` made from ``inputs`` when the D update kept them, else on a
        fresh batch) plus the G-side regularisers; with ``unroll`` = k, against D after k look-ahead
        updates, then D is restored."""
        saved = None
        if self.cfg.unroll:
            saved = copy.deepcopy((self.d_net.state_dict(), self.opt_d.state_dict()))
            for _ in range(self.cfg.unroll):
                self.d_update(real, cond, gen)
        self.d_net.requires_grad_(False)
        try:
            with self.autocast():
                if fake is None or inputs is None:
                    inputs = self.inputs(real, cond, gen)
                    fake = self.G(**inputs)
                f = self.d_fwd(self._aug(fake, gen), cond)
            loss = self.loss.g(f.float()) * self.cfg.adv_weight
            out: dict[str, float | torch.Tensor] = {"g_loss": loss.detach()}
            total = loss
            ctx = GContext(self.g_net, self.d_net, inputs, fake, real, gen)
            for reg in self.g_regs:
                if reg.due(self.step):
                    with self.autocast():
                        pen = reg.g_penalty(ctx)
                    total = total + pen * reg.every
                    out[type(reg).__name__] = pen.detach()
            self.opt_g.zero_grad(set_to_none=True)
            total.backward()
        finally:
            self.d_net.requires_grad_(True)
        if measure:
            out["grad_norm_g"] = _grad_norm(self.g_net)
        self.opt_g.step()
        if saved is not None:
            self.d_net.load_state_dict(saved[0])
            self.opt_d.load_state_dict(saved[1])
        if self.ema is not None:
            self._update_ema()
        return out

    def _update_ema(self) -> None:
        """Average G into the EMA after G step ``self.step`` (ramped up over the first images, as StyleGAN 2)."""
        batch = self.cfg.batch * self.dist.world
        update_ema(self.ema, self.g_net, ema_beta(self.cfg.ema, batch, (self.step + 1) * batch, self.cfg.ema_rampup))

    def train_step(self, data: FaceBatches, measure: bool = False) -> dict[str, float]:
        """Run step ``self.step`` (n_critic D updates, one G update) and advance the counter."""
        cfg, rank, world = self.cfg, self.dist.rank, self.dist.world
        gen = torch.Generator(device=self.device).manual_seed(step_seed(cfg.seed, self.step, rank))
        lod = self.lod()
        if cfg.grow:
            set_lod(self.growing(), lod)
        logs: dict[str, Any] = {}
        reuse = cfg.n_critic == 1 and not cfg.unroll        # the D update's fakes serve the G update
        for i in range(cfg.n_critic):
            idx = data.indices(cfg.seed, self.step * cfg.n_critic + i, cfg.batch, rank, world)
            real, cond = self._prepare(*data.batch(idx))
            real = blend(real, lod)
            logs.update(self.d_update(real, cond, gen, measure and i == cfg.n_critic - 1, keep_fake=reuse))
        logs.update(self.g_update(real, cond, gen, measure, fake=logs.pop("fake", None), inputs=logs.pop("inputs", None)))
        self.step += 1
        if cfg.grow:
            logs["lod"] = lod
        return {k: float(v) for k, v in logs.items()}

    def lod(self) -> float:
        """The level of detail of the current step under the run's resolution schedule."""
        return lod_at(self.step, self.cfg.size, self.cfg.grow, self.cfg.grow_from)

    def growing(self) -> list[nn.Module]:
        """The networks the resolution schedule acts on."""
        return [self.g_net, self.d_net] + ([self.ema] if self.ema is not None else [])

    # -- state ---------------------------------------------------------------------------------
    def models(self) -> dict[str, dict[str, torch.Tensor]]:
        out = {"G": self.g_net.state_dict(), "D": self.d_net.state_dict()}
        if self.ema is not None:
            out["EMA"] = self.ema.state_dict()
        return out

    def optim_state(self) -> dict[str, Any]:
        return {"G": self.opt_g.state_dict(), "D": self.opt_d.state_dict(), "step": self.step,
                "backed_off": self.backed_off, "regs": {type(r).__name__: r.state_dict() for r in self.regs}}

    def load(self, models: dict[str, dict[str, torch.Tensor]], optim: dict[str, Any]) -> None:
        self.g_net.load_state_dict(models["G"])
        self.d_net.load_state_dict(models["D"])
        if self.ema is not None:
            self.ema.load_state_dict(models["EMA"])
        self.opt_g.load_state_dict(optim["G"])
        self.opt_d.load_state_dict(optim["D"])
        self.step = int(optim["step"])
        self.backed_off = bool(optim.get("backed_off", False))
        for reg in self.regs:
            reg.load_state_dict(optim.get("regs", {}).get(type(reg).__name__, {}))

    def snapshot(self) -> tuple[dict, dict]:
        """An in-memory copy of the current state (the last good state for health recovery)."""
        return copy.deepcopy((self.models(), self.optim_state()))

    def lrs(self) -> dict[str, float]:
        return {"lr_g": self.opt_g.param_groups[0]["lr"], "lr_d": self.opt_d.param_groups[0]["lr"]}

    def scale_lr(self, factor: float) -> None:
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                group["lr"] *= factor

    @torch.no_grad()
    def generate(self, inputs: Inputs) -> torch.Tensor:
        """Images from the sampling generator (EMA when on) in eval mode, at the current level of detail."""
        net = self.ema if self.ema is not None else self.g_net
        was = net.training
        net.eval()
        try:
            with self.autocast():
                return net(**to_device(inputs, self.device)).float()
        finally:
            net.train(was)


def _grad_norm(module: nn.Module) -> torch.Tensor:
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads]))


# -- the run ---------------------------------------------------------------------------------------
def train(ws: Workspace, dataset: str, cfg: GanConfig, *, name: str | None = None,
          progress: bool = True, no_consent_records: str | None = None) -> str:
    """Train ``cfg`` on a prepared set; returns the run id (catalog kind ``runs``). A signal (Ctrl-C,
    SIGTERM) checkpoints the run, marks it ``interrupted`` and raises :class:`TrainingInterrupted`.

    Real people's faces without consent records stop it before it starts, unless
    ``no_consent_records`` gives the reason to go on; that waiver is kept in the run's
    params (``consent_waiver``) and in the manifests of what it generates."""
    cfg.validate()
    stopper = Stopper(parse_duration(cfg.time_budget))
    device = pick_device(cfg.device)
    dist = setup(device)
    device = dist.device(device)
    ds = open_set(ws, dataset)
    waiver = require_training_consent(ws, ds.record.id, no_consent_records).waiver
    threads = choose_threads(cfg.threads, dist.world)
    run_id = broadcast(ws.catalog.new_id("runs") if dist.is_main else None, dist)
    run_dir = ws.artefact_dir("runs", run_id)
    if dist.is_main:
        params = _params(cfg, ds.record.id, threads, waiver)
        ws.catalog.add("runs", name or run_id, params, [ds.record.id], path=run_dir, status="running",
                       artefact_id=run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
    with _locked(run_dir, run_id, dist):
        if dist.is_main:
            atomic_write_json(run_dir / checkpoint.CONFIG, params)
        return _run(ws, run_id, run_dir, ds, cfg, dist, device, None, progress, threads[0], stopper)


def _params(cfg: GanConfig, dataset_id: str, threads: tuple[int, str], waiver: dict[str, Any] | None
            ) -> dict[str, Any]:
    """The run's config.json (and catalog params): the resolved config, its data set, the threads chosen and why,
    and the consent waiver it trained under (if any)."""
    return {**to_dict(cfg), "dataset": dataset_id, "threads_used": threads[0], "threads_why": threads[1],
            **({"consent_waiver": waiver} if waiver else {})}


@contextlib.contextmanager
def _locked(run_dir: Path, run_id: str, dist: Dist) -> Iterator[None]:
    """Hold the run's lock (rank 0) while it trains; every rank fails at once when another process holds it."""
    with contextlib.ExitStack() as stack:
        refused = None
        if dist.is_main:
            try:
                lock = stack.enter_context(locks.hold(run_dir / locks.LOCK_FILE, f"run {run_id}"))
            except locks.LockHeld as exc:
                refused = str(exc)
            else:
                if lock.stale is not None:
                    print(f"warning: run {run_id} was left running by {lock.stale}, which ended without "
                          "finishing; taking it over", file=sys.stderr)
        refused = broadcast(refused, dist)
        if refused:
            raise locks.LockHeld(refused)
        yield


def resume(ws: Workspace, run: str, *, sets: Sequence[str] = (), steps: int | None = None,
           progress: bool = True) -> str:
    """Continue a run from its latest checkpoint (``steps`` or ``sets`` may raise the step count, or set
    a new ``time_budget``); refused at once while another process trains it."""
    rec = ws.resolve(run, "runs")
    run_dir = Path(rec.path or "")
    saved = read_json(run_dir / checkpoint.CONFIG)
    cfg = override(load_config(saved), [*sets, *([f"steps={steps}"] if steps is not None else [])])
    stopper = Stopper(parse_duration(cfg.time_budget))
    device = pick_device(cfg.device)
    dist = setup(device)
    device = dist.device(device)
    with _locked(run_dir, rec.id, dist):
        pointer = checkpoint.latest(run_dir)
        if pointer is None:
            raise TrainingError(f"run {rec.id} has no checkpoint to resume from")
        ds = open_set(ws, saved["dataset"])
        waiver = require_training_consent(ws, ds.record.id, (saved.get("consent_waiver") or {}).get("reason")).waiver
        threads = choose_threads(cfg.threads, dist.world)
        if dist.is_main:
            params = _params(cfg, ds.record.id, threads, waiver)
            atomic_write_json(run_dir / checkpoint.CONFIG, params)
            kept = [r for r in read_jsonl(run_dir / checkpoint.METRICS) if r.get("step", 0) <= pointer["step"]]
            atomic_write_jsonl(run_dir / checkpoint.METRICS, kept)
            ws.catalog.update(rec.id, params={k: params[k] for k in ("steps", "time_budget", "threads_used",
                                                                     "threads_why")}, status="running")
        return _run(ws, rec.id, run_dir, ds, cfg, dist, device, pointer, progress, threads[0], stopper)


def _run(ws: Workspace, run_id: str, run_dir: Path, ds: Any, cfg: GanConfig, dist: Dist, device: torch.device,
         pointer: dict[str, Any] | None, progress: bool, threads: int, stopper: Stopper) -> str:
    """Train with ``threads`` torch threads (the caller's count is restored after) and record the outcome."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _train_and_record(ws, run_id, run_dir, ds, cfg, dist, device, pointer, progress, stopper)
    finally:
        torch.set_num_threads(previous)


def _train_and_record(ws: Workspace, run_id: str, run_dir: Path, ds: Any, cfg: GanConfig, dist: Dist,
                      device: torch.device, pointer: dict[str, Any] | None, progress: bool, stopper: Stopper) -> str:
    try:
        keys = keys_of(cfg.cond_keys)
        data = FaceBatches(ds, cfg.size, keys, cfg.memory_budget_mb)
        trainer = GANTrainer(cfg, [k.n for k in keys], device, dist)
        if pointer is not None:
            trainer.load(*checkpoint.load(run_dir, pointer, map_location=device))
        final, stopped = _loop(trainer, data, run_dir, progress, stopper)
    except BaseException as exc:
        if dist.is_main:
            ws.catalog.update(run_id, params={"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__},
                              status="failed")
        raise
    if dist.is_main:
        if data.rejects and pointer is None:
            ws.catalog.add_rejects(run_id, data.rejects)
        if stopped != STEPS:
            append_jsonl(run_dir / checkpoint.METRICS, {"step": final["step"], "event": "stopped", "reason": stopped,
                                             "elapsed_s": round(stopper.elapsed(), 1)})
        ws.catalog.update(run_id, params={"final_step": final["step"], "checkpoint": final["dir"], "stopped": stopped,
                                          "checkpoint_sha256": final["weights_sha256"], "skipped_rows": data.skipped},
                          status="interrupted" if stopped == INTERRUPT else "ready")
    if stopped == INTERRUPT:
        raise TrainingInterrupted(run_id, final["step"])
    return run_id


class Loop:
    """Steps of a run with its bookkeeping: metrics, progress bar, health checks, grids, checkpoints.

    ``run_until(n)`` trains up to step n; ``finish()`` writes the final grid and checkpoint."""

    def __init__(self, t: GANTrainer, data: FaceBatches, run_dir: Path, progress: bool) -> None:
        from tqdm import tqdm

        self.t, self.data, self.run_dir, self.main = t, data, run_dir, t.dist.is_main
        self.fixed = t.inputs.fixed(t.cfg.grid, t.cfg.seed, data)
        self.good = t.snapshot()
        self.peak = max((r["diversity"] for r in read_jsonl(run_dir / checkpoint.METRICS) if "diversity" in r), default=0.0)
        self.real_diversity = diversity(to_float(data.batch(torch.arange(min(t.cfg.grid, len(data))))[0]))
        self.pointer = checkpoint.latest(run_dir) if t.step else None
        self.images_per_step = t.cfg.batch * t.cfg.n_critic * t.dist.world
        self.bar = tqdm(total=t.cfg.steps, initial=t.step, disable=not progress or not self.main,
                        desc=f"{t.cfg.model} {t.cfg.size}px", unit="step", dynamic_ncols=True, file=sys.stderr)
        self.evaluator = None
        if t.cfg.eval_every and self.main:
            self.evaluator = TrainingEval(t, data)

    def run_until(self, steps: int, stopper: Stopper | None = None) -> str:
        """Train up to step ``steps``; returns why it stopped: STEPS, or the ``stopper``'s reason (all ranks agree)."""
        t, cfg, run_dir = self.t, self.t.cfg, self.run_dir
        tick, since = time.perf_counter(), 0
        while t.step < steps:
            if stopper is not None:
                code = agree_max(CODES.index(stopper.reason()), t.dist)
                if code:
                    return CODES[code]
            step = t.step
            measure = (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps
            logs = t.train_step(self.data, measure)
            since += 1
            if not finite(logs["d_loss"], logs["g_loss"]):
                self._recover(step, logs)
                continue
            if t.step % cfg.snapshot_every == 0:
                self.good = t.snapshot()
            if self.main and measure:
                now = time.perf_counter()
                row = {"step": t.step, **logs, **t.lrs(), "images_per_s": since * self.images_per_step / (now - tick)}
                append_jsonl(run_dir / checkpoint.METRICS, row)
                self.bar.set_postfix(d=f"{logs['d_loss']:.3f}", g=f"{logs['g_loss']:.3f}",
                                     img_s=f"{row['images_per_s']:.0f}")
                tick, since = time.perf_counter(), 0
            if self.main and t.step % cfg.sample_every == 0:
                self._grid()
            if t.step % cfg.checkpoint_every == 0:
                self._checkpoint()
            if self.evaluator is not None and t.step % cfg.eval_every == 0:
                self.evaluator(t, run_dir, self.bar)
            self.bar.update(t.step - self.bar.n)
        return STEPS

    def _recover(self, step: int, logs: dict[str, float]) -> None:
        """Non-finite loss: restore the last good state and lower the learning rates, once; then fail."""
        t = self.t
        if t.backed_off:
            raise TrainingError(
                f"loss became non-finite at step {step} (d_loss={logs['d_loss']}, g_loss={logs['g_loss']}) "
                f"again after lowering the learning rate to {t.lrs()}; stopping. Try a smaller lr or a "
                f"stabiliser (spectral_norm=true, gp_lambda=10)")
        t.load(*copy.deepcopy(self.good))
        t.scale_lr(t.cfg.lr_backoff)
        t.backed_off = True
        t.step = step + 1
        if self.main:
            restored = self.good[1]["step"]
            append_jsonl(self.run_dir / checkpoint.METRICS, {"step": t.step, "event": "nonfinite_loss",
                                                  "restored_step": restored, **t.lrs()})
            self.bar.write(f"warning: non-finite loss at step {step}; restored step {restored} and lowered "
                           f"the learning rates to {t.lrs()}", file=sys.stderr)

    def _grid(self) -> None:
        self.peak = _grid(self.t, self.run_dir, self.fixed, self.bar, self.peak, self.real_diversity)

    def _checkpoint(self) -> None:
        t = self.t
        if self.main:
            self.pointer = checkpoint.save(self.run_dir, t.step, t.models(), t.optim_state(),
                                           {"family": t.cfg.model, "step": str(t.step)}, t.cfg.keep_checkpoints)
        self.pointer = broadcast(self.pointer, t.dist)

    def finish(self) -> dict[str, Any]:
        """The final grid and checkpoint (unless the last step already wrote them); returns the pointer."""
        t = self.t
        self.bar.close()
        if self.main and t.step % t.cfg.sample_every:
            self._grid()
        if self.pointer is None or self.pointer["step"] != t.step:
            self._checkpoint()
        return self.pointer


def _loop(t: GANTrainer, data: FaceBatches, run_dir: Path, progress: bool,
          stopper: Stopper) -> tuple[dict[str, Any], str]:
    """Train until ``cfg.steps`` or until ``stopper`` says stop; returns the last checkpoint's pointer and
    why the loop stopped. A signal during the final checkpoint waits for it."""
    loop = Loop(t, data, run_dir, progress)
    with stopper:
        try:
            stopped = loop.run_until(t.cfg.steps, stopper)
        finally:
            loop.bar.close()
        return loop.finish(), stopped


def _grid(t: GANTrainer, run_dir: Path, inputs: Inputs, bar: Any, peak: float, real: float = 0.0) -> float:
    """Save the fixed-latent grid and check the batch's diversity (collapse monitor) against its peak so far
    and against ``real``, the diversity of a batch of training images; returns the new peak."""
    images = t.generate(inputs)
    atomic_write_bytes(run_dir / "grids" / f"step-{t.step:07d}.png", grid_image(images))
    score = diversity(images)
    row: dict[str, Any] = {"step": t.step, "diversity": score}
    why = collapse(score, peak, real, t.cfg.collapse_ratio, t.cfg.collapse_floor)
    if why:
        row.update(event="collapse_warning", reason=why)
        bar.write(f"warning: possible mode collapse at step {t.step}: {why}", file=sys.stderr)
    append_jsonl(run_dir / checkpoint.METRICS, row)
    return max(peak, score)
