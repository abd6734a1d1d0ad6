"""The CTC training loop: resumable to the batch, DDP-aware, logged to TensorBoard."""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from reslstm.batches import SkipFirst, count_batches, make_sampler, num_frames
from reslstm.checkpoint import restore_training, resume_path, save_training, training_checkpoint
from reslstm.ctc import ctc_loss
from reslstm.errors import ReslstmError
from reslstm.io import atomic_write_json, atomic_write_text, remove_stale_tmp
from reslstm.models import count_parameters
from reslstm.runtime import resolve_device, rng_state, seed_everything
from reslstm.train.build import build_training
from reslstm.train.distributed import (
    DistInfo,
    all_true,
    barrier,
    gather_objects,
    init_distributed,
    shutdown,
)
from reslstm.train.interctc import interctc_loss
from reslstm.train.monitor import add_grad_norm_layout, layer_grad_norms, peak_memory_mb
from reslstm.train.state import TrainState, resume_mismatch
from reslstm.train.validate import dev_metrics

log = logging.getLogger(__name__)


class Trainer:
    """Trains ``cfg.model`` on ``cfg.data`` with ``cfg.train``; see ``conf/train/default.yaml``.

    :func:`reslstm.train.build.build_training` makes the model, data, optimiser and schedule;
    this class runs the loop, validates after each epoch and saves/resumes checkpoints.
    """

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg, self.train_cfg = cfg, cfg.train
        self.device = resolve_device(cfg.device)
        self.dist: DistInfo = init_distributed(self.device.type)
        if self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
            torch.cuda.set_device(self.device)
        self.parts = build_training(cfg, self.device, self.dist.world_size)
        self.model, self.tokenizer = self.parts.model, self.parts.tokenizer
        self.optimizer, self.schedule = self.parts.optimizer, self.parts.schedule
        self.run_dir = self.parts.layout.run
        self.ddp_model = (
            DistributedDataParallel(
                self.model, device_ids=[self.device] if self.device.type == "cuda" else None
            )
            if self.dist.enabled
            else self.model
        )
        if self.dist.enabled:  # same initial weights everywhere, then per-rank dropout streams
            seed_everything(cfg.seed + self.dist.rank)
        self.state = TrainState()
        self.amp = self.train_cfg.amp and self.device.type == "cuda"
        self.writer: SummaryWriter | None = None

    # ----------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Train until the stopping rule or ``max_epochs`` (resuming from a checkpoint if there is
        one); return the summary."""
        self._maybe_resume()
        if self.dist.is_main:
            self.run_dir.path.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.run_dir.config, OmegaConf.to_yaml(self.cfg, resolve=True))
            # drop what was logged after the checkpoint resumed from (steps > state.step)
            purge = self.state.step + 1
            self.writer = SummaryWriter(self.run_dir.tensorboard, purge_step=purge)
            add_grad_norm_layout(self.writer)
            log.info(
                "training %s (%d layers, %s parameters) on %d utterances (%.2f h), device %s x%d",
                self.parts.model_cfg["name"],
                self.parts.model_cfg["num_layers"],
                f"{count_parameters(self.model):,}",
                len(self.parts.train_cuts),
                sum(c.duration for c in self.parts.train_cuts) / 3600,
                self.device,
                self.dist.world_size,
            )
        while self.state.epoch <= self.train_cfg.max_epochs and not self.schedule.finished():
            self._train_epoch()
            self._end_epoch()
        summary = self._summary()
        if self.dist.is_main:
            atomic_write_json(self.run_dir.summary, summary)
            self.writer.close()
        barrier(self.dist)
        shutdown(self.dist)
        return summary

    def _train_epoch(self) -> None:
        st, train_cfg = self.state, self.train_cfg
        expected = count_batches(
            self.parts.train_cuts, train_cfg, st.epoch, self.cfg.seed, self.dist.world_size
        )
        bar = tqdm(
            total=expected,
            initial=st.batch_in_epoch,
            desc=f"epoch {st.epoch}",
            unit="batch",
            disable=not (self.cfg.progress_bar and self.dist.is_main),
            dynamic_ncols=True,
        )
        self.ddp_model.train()
        it = iter(self._epoch_loader())
        first_batch = st.batch_in_epoch  # > 0 when resumed mid-epoch
        last_log = epoch_start = time.monotonic()
        while True:
            batch = next(it, None)
            if not all_true(batch is not None, self.dist):
                break
            t0 = time.monotonic()
            loss, frames, grad_norms = self._step(batch)
            dt = time.monotonic() - t0
            st.elapsed_s += dt
            st.batch_in_epoch += 1
            fps = frames * self.dist.world_size / max(dt, 1e-9)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", fps=f"{fps:,.0f}")
            if self.dist.is_main and st.step % train_cfg.log_every_steps == 0:
                self._log_step(loss, fps, grad_norms)
            if not self.cfg.progress_bar and self.dist.is_main and time.monotonic() - last_log > 30:
                last_log = time.monotonic()
                self._log_progress(expected, first_batch, last_log - epoch_start, loss, fps)
            if st.step % train_cfg.checkpoint_every_steps == 0:
                self._save(epoch_end=False)
        bar.close()

    def _epoch_loader(self) -> DataLoader:
        """The batches of the epoch in progress not trained on yet (all, unless resumed)."""
        st, train_cfg = self.state, self.train_cfg
        sampler = make_sampler(
            self.parts.train_cuts,
            train_cfg,
            st.epoch,
            self.cfg.seed,
            self.dist.world_size,
            self.dist.rank,
        )
        return DataLoader(
            self.parts.dataset,
            sampler=SkipFirst(sampler, st.batch_in_epoch),
            batch_size=None,
            num_workers=train_cfg.num_workers,
            # its own generator: creating the iterator must not advance the global RNG, or a
            # resumed run would draw different dropout masks than an uninterrupted one
            generator=torch.Generator().manual_seed(self.cfg.seed + st.epoch),
        )

    def _log_progress(
        self, expected: int, first_batch: int, seconds: float, loss: float, fps: float
    ) -> None:
        """The periodic log line that replaces the progress bar in parallel runs; the rate counts
        the batches trained since ``first_batch``, where this process began the epoch."""
        st = self.state
        rate = (st.batch_in_epoch - first_batch) / max(1e-9, seconds)
        eta = max(0, expected - st.batch_in_epoch) / max(rate, 1e-9)
        log.info(
            "epoch %d batch %d/%d loss %.3f %.0f frames/s ETA %.0fs",
            st.epoch,
            st.batch_in_epoch,
            expected,
            loss,
            fps,
            eta,
        )

    def active_taps(self) -> tuple[int, ...]:
        """The layers with an intermediate CTC loss in this step: none once the model learns
        when ``train.interctc_warmup`` (the taps then served as a warm-up only)."""
        if self.train_cfg.interctc_warmup and self.schedule.learning:
            return ()
        return self.parts.interctc_taps

    def _step(self, batch: dict[str, Any]) -> tuple[float, int, dict[str, float]]:
        """One update on ``batch``: its loss, frames and gradient norms (NaN, {} if skipped)."""
        st, train_cfg = self.state, self.train_cfg
        for group in self.optimizer.param_groups:
            group["lr"] = self.schedule.lr(st.step)
        feats = batch["feats"].to(self.device)
        feat_lens = batch["feat_lens"].to(self.device)
        taps = self.active_taps()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            log_probs, out_lens = self.ddp_model(feats, feat_lens, taps)
        # one [B, T', V] per layer with a loss: the tapped layers', then the top's
        per_layer = log_probs if taps else log_probs.unsqueeze(0)
        losses = [self._ctc_loss(lp, out_lens, batch) for lp in per_layer]
        loss = interctc_loss(losses[-1], losses[:-1], self.train_cfg.interctc_weight)
        self.optimizer.zero_grad(set_to_none=True)
        frames = int(batch["feat_lens"].sum())
        finite = all_true(bool(torch.isfinite(loss)), self.dist)
        if finite:
            loss.backward()
            total = torch.nn.utils.clip_grad_norm_(self.model.parameters(), train_cfg.grad_clip)
            finite = all_true(bool(torch.isfinite(total)), self.dist)
        if not finite:
            self._skip_bad_batch(batch)
            st.step += 1
            return float("nan"), frames, {}
        self.optimizer.step()
        st.step += 1
        norms = {"total": float(total)}
        if self.dist.is_main and st.step % train_cfg.log_every_steps == 0:
            norms.update(layer_grad_norms(self.model))
        return float(loss.detach()), frames, norms

    def _skip_bad_batch(self, batch: dict[str, Any]) -> None:
        """Count a batch with a NaN/inf loss or gradient; abort after ``max_bad_batches``."""
        st, limit = self.state, self.train_cfg.max_bad_batches
        st.bad_batches += 1
        self.optimizer.zero_grad(set_to_none=True)
        log.warning(
            "non-finite loss/gradient in batch %d of epoch %d (cuts %s…): skipped (%d/%d)",
            st.batch_in_epoch + 1,
            st.epoch,
            ", ".join(batch["ids"][:3]),
            st.bad_batches,
            limit,
        )
        if st.bad_batches > limit:
            raise ReslstmError(
                f"training aborted: {st.bad_batches} batches had a NaN/inf loss or gradient "
                f"(train.max_bad_batches={limit}); lower train.lr or check the data"
            )

    def _ctc_loss(
        self, log_probs: torch.Tensor, out_lens: torch.Tensor, batch: dict[str, Any]
    ) -> torch.Tensor:
        targets, target_lens = batch["targets"], batch["target_lens"]
        return ctc_loss(log_probs, out_lens, targets, target_lens, self.tokenizer.blank_id)

    def _log_step(self, loss: float, fps: float, grad_norms: dict[str, float]) -> None:
        w, step = self.writer, self.state.step
        if math.isfinite(loss):
            w.add_scalar("train/loss", loss, step)
        w.add_scalar("train/lr", self.optimizer.param_groups[0]["lr"], step)
        w.add_scalar("train/frames_per_s", fps, step)
        for name, value in grad_norms.items():
            w.add_scalar(f"grad_norm/{name}", value, step)

    # ----------------------------------------------------------------------------------------
    def validate(self) -> dict[str, float]:
        """Dev loss (per token) and greedy dev WER/CER on the monitoring subset of dev."""
        return dev_metrics(
            self.model,
            self.parts.dev_cuts,
            self.parts.dataset,
            self.train_cfg,
            self.tokenizer,
            self.amp,
        )

    def _end_epoch(self) -> None:
        st = self.state
        metrics = self.validate()
        learning = (
            metrics["dev_cer"] is not None and metrics["dev_cer"] < self.train_cfg.learning_cer
        )
        self.schedule.end_epoch(metrics["dev_loss"], learning)
        record = {
            "epoch": st.epoch,
            "step": st.step,
            "lr": self.optimizer.param_groups[0]["lr"],
            "elapsed_s": round(st.elapsed_s, 2),
            "bad_batches": st.bad_batches,
            "halvings": self.schedule.halvings,
            **metrics,
        }
        st.history.append(record)
        best = min(h["dev_loss"] for h in st.history) == metrics["dev_loss"]
        st.epoch += 1
        st.batch_in_epoch = 0
        if self.dist.is_main:
            for k in ("dev_loss", "dev_wer", "dev_cer"):
                if k in metrics:
                    self.writer.add_scalar(f"dev/{k[4:]}", metrics[k], st.step)
            self.writer.flush()
            log.info(
                "epoch %d done: step %d, lr %.2e, dev loss %.4f, greedy dev WER %.2f%% CER %.2f%%, "
                "halvings %d, %.0fs elapsed",
                record["epoch"],
                st.step,
                record["lr"],
                metrics["dev_loss"],
                metrics["dev_wer"] or 0.0,
                metrics["dev_cer"] or 0.0,
                self.schedule.halvings,
                st.elapsed_s,
            )
        self._save(epoch_end=True, best=best)

    # ----------------------------------------------------------------------------------------
    def _save(self, epoch_end: bool, best: bool = False) -> None:
        self.state.peak_memory = peak_memory_mb(self.device, self.state.peak_memory)
        rng_by_rank = gather_objects(rng_state(), self.dist)
        if self.dist.is_main:
            ckpt = training_checkpoint(
                model=self.model,
                optimizer=self.optimizer,
                schedule=self.schedule,
                state=asdict(self.state),
                rng_by_rank=rng_by_rank,
                model_cfg=self.parts.model_cfg,
                input_dim=self.parts.input_dim,
                vocab_size=self.tokenizer.vocab_size,
                world_size=self.dist.world_size,
            )
            epoch = self.state.epoch - 1 if epoch_end else None
            save_training(ckpt, self.run_dir.checkpoints, epoch, best, self.train_cfg.keep_last)
            if epoch_end:
                self._write_metrics()
        barrier(self.dist)

    def _write_metrics(self) -> None:
        lines = "".join(json.dumps(h) + "\n" for h in self.state.history)
        atomic_write_text(self.run_dir.metrics, lines)

    def _maybe_resume(self) -> None:
        if self.dist.is_main:
            remove_stale_tmp(self.run_dir.checkpoints.path / "*")  # a write interrupted by a kill
        path, error = None, None
        try:
            path = resume_path(self.run_dir.checkpoints, str(self.train_cfg.resume))
            if path is not None:
                state = restore_training(
                    path,
                    model=self.model,
                    optimizer=self.optimizer,
                    schedule=self.schedule,
                    model_cfg=self.parts.model_cfg,
                    world_size=self.dist.world_size,
                    rank=self.dist.rank,
                )
                state.pop("batches_per_epoch", None)  # kept by checkpoints before 2026-12-08
                self.state = TrainState(**state)
        except ReslstmError as e:  # raised on every rank below, so that none waits for it
            error = str(e)
        st = self.state
        point = ("error", error) if error else (st.epoch, st.batch_in_epoch, st.step, path is None)
        mismatch = resume_mismatch(gather_objects(point, self.dist), self.run_dir.path)
        if mismatch:
            raise ReslstmError(mismatch)
        if path is not None and self.dist.is_main:
            log.info(
                "resumed from %s: epoch %d, batch %d, step %d",
                path,
                self.state.epoch,
                self.state.batch_in_epoch,
                self.state.step,
            )

    def _stopped_by(self) -> str:
        if not self.schedule.finished():
            return "max_epochs"
        return "halvings" if self.schedule.learning else "plateau_patience"

    def _summary(self) -> dict[str, Any]:
        st, hist = self.state, self.state.history
        best = min(hist, key=lambda h: h["dev_loss"]) if hist else {}
        shift = self.cfg.features.frame_shift
        total_frames = sum(num_frames(c, shift) for c in self.parts.train_cuts) * len(hist)
        return {
            "model": self.parts.model_cfg["name"],
            "cell": self.parts.model_cfg["cell"],
            "num_layers": self.parts.model_cfg["num_layers"],
            "num_params": count_parameters(self.model),
            "seed": self.cfg.seed,
            "train_time_s": round(st.elapsed_s, 1),
            "epochs": len(hist),
            "steps": st.step,
            "best_epoch": best.get("epoch"),
            "best_dev_loss": best.get("dev_loss"),
            "final_dev_wer": hist[-1].get("dev_wer") if hist else None,
            "best_dev_cer": best.get("dev_cer"),
            "learning": self.schedule.learning,
            "stopped_by": self._stopped_by(),
            "frames_per_s": round(total_frames / max(st.elapsed_s, 1e-9)),
            "bad_batches": st.bad_batches,
            "device": str(self.device),
            "world_size": self.dist.world_size,
            **peak_memory_mb(self.device, st.peak_memory),  # rank 0's, since training began
        }
