"""The CTC training loop: resumable to the batch, DDP-aware, logged to TensorBoard."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from reslstm.decode.greedy import greedy_search
from reslstm.errors import ReslstmError
from reslstm.features.cmvn import load_cmvn
from reslstm.features.fbank import make_extractor
from reslstm.io import atomic_path, atomic_write_json, atomic_write_text, remove_stale_tmp
from reslstm.models import CTCModel, build_model, count_parameters
from reslstm.runtime import resolve_device, rng_state, seed_everything, set_rng_state
from reslstm.scoring import score
from reslstm.tokens import CharTokenizer
from reslstm.train.checkpoint import load_checkpoint, prune_epochs, save_checkpoint
from reslstm.train.data import (
    CTCBatches,
    SkipFirst,
    filter_trainable,
    load_cuts,
    make_sampler,
    num_frames,
)
from reslstm.train.distributed import (
    DistInfo,
    all_true,
    barrier,
    gather_objects,
    init_distributed,
    shutdown,
)
from reslstm.train.monitor import add_grad_norm_layout, peak_memory_mb
from reslstm.train.schedule import LRSchedule

log = logging.getLogger(__name__)


@dataclass
class TrainState:
    """Everything besides weights and optimiser that a resumed run needs to continue exactly."""

    epoch: int = 1  # the epoch in progress (1-based)
    batch_in_epoch: int = 0  # batches of ``epoch`` already trained on
    step: int = 0
    elapsed_s: float = 0.0  # training wall time, summed over interrupted runs
    bad_batches: int = 0
    batches_per_epoch: int = 0  # measured in the first full epoch (for the ETA)
    history: list[dict[str, Any]] = field(default_factory=list)
    peak_memory: dict[str, float] = field(default_factory=dict)  # MiB, over resumed processes


class Trainer:
    """Trains ``cfg.model`` on ``cfg.data`` with ``cfg.train``; see ``conf/train/default.yaml``."""

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg, self.tcfg = cfg, cfg.train
        self.device = resolve_device(cfg.device)
        self.dist: DistInfo = init_distributed(self.device.type)
        if self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
            torch.cuda.set_device(self.device)
        self.run_dir = Path(cfg.paths.run_dir)
        self.ckpt_dir = self.run_dir / "checkpoints"
        fbank_dir, lang_dir = Path(cfg.paths.fbank_dir), Path(cfg.paths.lang_dir)
        if not (lang_dir / "tokens.txt").is_file():
            raise ReslstmError(f"missing {lang_dir / 'tokens.txt'}: run stage 2 (tokens) first")
        self.tokenizer = CharTokenizer.from_file(lang_dir / "tokens.txt")

        seed_everything(cfg.seed)  # identical initial weights on every rank
        # on-the-fly: audio cuts of stage 0, features computed per batch (CMVN still from stage 1)
        cuts_dir = Path(cfg.paths.manifest_dir) if self.tcfg.on_the_fly_features else fbank_dir
        train_path = cuts_dir / "cuts_train.jsonl.gz"
        train_cuts = load_cuts(train_path)
        if len(train_cuts) == 0:
            raise ReslstmError(f"the training set is empty: {train_path} has no cuts")
        input_dim = cfg.features.num_mel_bins
        self.model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
        try:
            self.model: CTCModel = build_model(self.model_cfg, input_dim, self.tokenizer.vocab_size)
        except ValueError as e:
            raise ReslstmError(str(e)) from e
        self.model.set_cmvn(*load_cmvn(fbank_dir / "cmvn.json"))
        self.input_dim = input_dim
        self.model.to(self.device)

        def out_frames(n: int) -> int:
            return int(self.model.output_lengths(torch.tensor([n]))[0])

        shift = cfg.features.frame_shift
        self.train_cuts = filter_trainable(
            train_cuts, self.tokenizer, out_frames, train_path, shift
        )
        dev_path = cuts_dir / "cuts_dev.jsonl.gz"
        self.dev_cuts = filter_trainable(
            load_cuts(dev_path), self.tokenizer, out_frames, dev_path, shift
        )
        self.ddp_model = (
            DistributedDataParallel(
                self.model, device_ids=[self.device] if self.device.type == "cuda" else None
            )
            if self.dist.enabled
            else self.model
        )
        if self.dist.enabled:  # same initial weights everywhere, then per-rank dropout streams
            seed_everything(cfg.seed + self.dist.rank)
        self.optimizer = self._make_optimizer()
        self.schedule = LRSchedule(
            kind=self.tcfg.scheduler,
            base_lr=self.tcfg.lr,
            warmup_steps=self.tcfg.warmup_steps,
            min_lr=self.tcfg.min_lr,
            factor=self.tcfg.newbob_factor,
            threshold=self.tcfg.newbob_threshold,
            patience=self.tcfg.newbob_patience,
            total_steps=self._estimate_batches() * self.tcfg.max_epochs,
            max_halvings=self.tcfg.max_halvings,
            plateau_patience=self.tcfg.plateau_patience,
        )
        self.dataset = CTCBatches(
            self.tokenizer,
            spec_augment=self.tcfg.spec_augment,
            extractor=make_extractor(cfg.features) if self.tcfg.on_the_fly_features else None,
        )
        self.state = TrainState()
        self.amp = self.tcfg.amp and self.device.type == "cuda"
        self.writer: SummaryWriter | None = None

    # ----------------------------------------------------------------------------------------
    def _make_optimizer(self) -> torch.optim.Optimizer:
        params, t = self.model.parameters(), self.tcfg
        if t.optimizer == "adam":
            return torch.optim.Adam(params, lr=t.lr, weight_decay=t.weight_decay)
        if t.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
        if t.optimizer == "sgd":
            return torch.optim.SGD(
                params, lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay
            )
        raise ReslstmError(f"train.optimizer={t.optimizer!r}: use adam, adamw or sgd")

    def _estimate_batches(self) -> int:
        total = sum(c.duration for c in self.train_cuts)
        return max(1, math.ceil(total / self.tcfg.max_duration / self.dist.world_size))

    # ----------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Train until the stopping rule or ``max_epochs`` (resuming from a checkpoint if there is
        one); return the summary."""
        self._maybe_resume()
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(
                self.run_dir / "config.yaml", OmegaConf.to_yaml(self.cfg, resolve=True)
            )
            # drop what was logged after the checkpoint resumed from (steps > state.step)
            purge = self.state.step + 1
            self.writer = SummaryWriter(self.run_dir / "tensorboard", purge_step=purge)
            add_grad_norm_layout(self.writer)
            log.info(
                "training %s (%d layers, %s parameters) on %d utterances (%.2f h), device %s x%d",
                self.model_cfg["name"],
                self.model_cfg["num_layers"],
                f"{count_parameters(self.model):,}",
                len(self.train_cuts),
                sum(c.duration for c in self.train_cuts) / 3600,
                self.device,
                self.dist.world_size,
            )
        while self.state.epoch <= self.tcfg.max_epochs and not self.schedule.finished():
            self._train_epoch()
            self._end_epoch()
        summary = self._summary()
        if self.dist.is_main:
            atomic_write_json(self.run_dir / "train_summary.json", summary)
            self.writer.close()
        barrier(self.dist)
        shutdown(self.dist)
        return summary

    def _train_epoch(self) -> None:
        st, t = self.state, self.tcfg
        sampler = make_sampler(
            self.train_cuts, t, st.epoch, self.cfg.seed, self.dist.world_size, self.dist.rank
        )
        loader = DataLoader(
            self.dataset,
            sampler=SkipFirst(sampler, st.batch_in_epoch),
            batch_size=None,
            num_workers=t.num_workers,
            # its own generator: creating the iterator must not advance the global RNG, or a
            # resumed run would draw different dropout masks than an uninterrupted one
            generator=torch.Generator().manual_seed(self.cfg.seed + st.epoch),
        )
        expected = st.batches_per_epoch or self._estimate_batches()
        bar = tqdm(
            total=expected,
            initial=st.batch_in_epoch,
            desc=f"epoch {st.epoch}",
            unit="batch",
            disable=not (self.cfg.progress_bar and self.dist.is_main),
            dynamic_ncols=True,
        )
        self.ddp_model.train()
        it = iter(loader)
        last_log, epoch_start, frames_done = time.monotonic(), time.monotonic(), 0
        while True:
            batch = next(it, None)
            if not all_true(batch is not None, self.dist):
                break
            t0 = time.monotonic()
            loss, frames, grad_norms = self._step(batch)
            dt = time.monotonic() - t0
            st.elapsed_s += dt
            st.batch_in_epoch += 1
            frames_done += frames
            fps = frames * self.dist.world_size / max(dt, 1e-9)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", fps=f"{fps:,.0f}")
            if self.dist.is_main and st.step % t.log_every_steps == 0:
                self._log_step(loss, fps, grad_norms)
            if not self.cfg.progress_bar and self.dist.is_main and time.monotonic() - last_log > 30:
                last_log = time.monotonic()
                rate = st.batch_in_epoch / max(1e-9, last_log - epoch_start)
                eta = max(0, expected - st.batch_in_epoch) / max(rate, 1e-9)
                log.info(
                    "epoch %d batch %d/~%d loss %.3f %.0f frames/s ETA %.0fs",
                    st.epoch,
                    st.batch_in_epoch,
                    expected,
                    loss,
                    fps,
                    eta,
                )
            if st.step % t.checkpoint_every_steps == 0:
                self._save(epoch_end=False)
        bar.close()
        if not st.batches_per_epoch or st.epoch == 1:
            st.batches_per_epoch = st.batch_in_epoch

    def _step(self, batch: dict[str, Any]) -> tuple[float, int, dict[str, float]]:
        st, t = self.state, self.tcfg
        for group in self.optimizer.param_groups:
            group["lr"] = self.schedule.lr(st.step)
        feats = batch["feats"].to(self.device)
        feat_lens = batch["feat_lens"].to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            log_probs, out_lens = self.ddp_model(feats, feat_lens)
        loss = self._ctc_loss(log_probs, out_lens, batch)
        self.optimizer.zero_grad(set_to_none=True)
        finite = all_true(bool(torch.isfinite(loss)), self.dist)
        if finite:
            loss.backward()
            total = torch.nn.utils.clip_grad_norm_(self.model.parameters(), t.grad_clip)
            finite = all_true(bool(torch.isfinite(total)), self.dist)
        if not finite:
            st.bad_batches += 1
            self.optimizer.zero_grad(set_to_none=True)
            log.warning(
                "non-finite loss/gradient in batch %d of epoch %d (cuts %s…): skipped (%d/%d)",
                st.batch_in_epoch + 1,
                st.epoch,
                ", ".join(batch["ids"][:3]),
                st.bad_batches,
                t.max_bad_batches,
            )
            if st.bad_batches > t.max_bad_batches:
                raise ReslstmError(
                    f"training aborted: {st.bad_batches} batches had a NaN/inf loss or gradient "
                    f"(train.max_bad_batches={t.max_bad_batches}); lower train.lr or check the data"
                )
            st.step += 1
            return float("nan"), int(batch["feat_lens"].sum()), {}
        self.optimizer.step()
        st.step += 1
        norms = {"total": float(total)}
        if self.dist.is_main and st.step % t.log_every_steps == 0:
            norms.update(self._layer_grad_norms())
        return float(loss.detach()), int(batch["feat_lens"].sum()), norms

    def _ctc_loss(
        self, log_probs: torch.Tensor, out_lens: torch.Tensor, batch: dict[str, Any]
    ) -> torch.Tensor:
        """CTC loss summed over the batch, divided by the number of target tokens."""
        target_lens = batch["target_lens"]
        loss = F.ctc_loss(
            log_probs.float().transpose(0, 1),
            batch["targets"].to(self.device),
            out_lens,
            target_lens.to(self.device),
            blank=self.tokenizer.blank_id,
            reduction="sum",
        )
        return loss / target_lens.sum().clamp(min=1).to(loss.device)

    def _layer_grad_norms(self) -> dict[str, float]:
        norms = {}
        for name, params in self.model.layer_groups():
            sq = sum(
                float(p.grad.detach().float().norm() ** 2) for p in params if p.grad is not None
            )
            norms[name] = math.sqrt(sq)
        return norms

    def _log_step(self, loss: float, fps: float, grad_norms: dict[str, float]) -> None:
        w, step = self.writer, self.state.step
        if math.isfinite(loss):
            w.add_scalar("train/loss", loss, step)
        w.add_scalar("train/lr", self.optimizer.param_groups[0]["lr"], step)
        w.add_scalar("train/frames_per_s", fps, step)
        for name, value in grad_norms.items():
            w.add_scalar(f"grad_norm/{name}", value, step)

    # ----------------------------------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Dev loss (per token) and greedy dev WER/CER."""
        self.model.eval()
        sampler = make_sampler(self.dev_cuts, self.tcfg, epoch=0, seed=0)
        loader = DataLoader(
            self.dataset, sampler=sampler, batch_size=None, generator=torch.Generator()
        )
        total, tokens, refs, hyps = 0.0, 0, {}, {}
        for batch in loader:
            feats, lens = batch["feats"].to(self.device), batch["feat_lens"].to(self.device)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                log_probs, out_lens = self.model(feats, lens)
            n = int(batch["target_lens"].sum())
            total += float(self._ctc_loss(log_probs, out_lens, batch)) * n
            tokens += n
            for uid, text, ids in zip(
                batch["ids"],
                batch["texts"],
                greedy_search(log_probs.float(), out_lens),
                strict=True,
            ):
                refs[uid], hyps[uid] = text, self.tokenizer.decode(ids)
        self.model.train()
        scores = score(refs, hyps)
        return {"dev_loss": total / max(tokens, 1), "dev_wer": scores.wer, "dev_cer": scores.cer}

    def _end_epoch(self) -> None:
        st = self.state
        metrics = self.validate()
        learning = metrics["dev_cer"] is not None and metrics["dev_cer"] < self.tcfg.learning_cer
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
    def _checkpoint(self, rng_by_rank: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "state": asdict(self.state),
            "rng": rng_by_rank,  # every rank's RNG states: a resumed DDP run draws the same masks
            "model_cfg": self.model_cfg,
            "input_dim": self.input_dim,
            "vocab_size": self.tokenizer.vocab_size,
            "world_size": self.dist.world_size,
        }

    def _save(self, epoch_end: bool, best: bool = False) -> None:
        self.state.peak_memory = peak_memory_mb(self.device, self.state.peak_memory)
        rng_by_rank = gather_objects(rng_state(), self.dist)
        if self.dist.is_main:
            ckpt = self._checkpoint(rng_by_rank)
            if epoch_end:
                epoch_path = self.ckpt_dir / f"epoch-{self.state.epoch - 1}.pt"
                save_checkpoint(ckpt, epoch_path)
                for name in ["last.pt"] + (["best.pt"] if best else []):
                    with atomic_path(self.ckpt_dir / name) as tmp:
                        os.link(epoch_path, tmp)
                prune_epochs(self.ckpt_dir, self.tcfg.keep_last)
                self._write_metrics()
            else:
                save_checkpoint(ckpt, self.ckpt_dir / "last.pt")
        barrier(self.dist)

    def _write_metrics(self) -> None:
        lines = "".join(json.dumps(h) + "\n" for h in self.state.history)
        atomic_write_text(self.run_dir / "metrics.jsonl", lines)

    def _maybe_resume(self) -> None:
        if self.dist.is_main:
            remove_stale_tmp(self.ckpt_dir / "*")  # a write interrupted by a kill
        resume = str(self.tcfg.resume)
        if resume == "none":
            return
        path = self.ckpt_dir / "last.pt" if resume == "auto" else Path(resume)
        if not path.is_file():
            if resume != "auto":
                raise ReslstmError(f"train.resume={resume}: no such checkpoint")
            return
        ckpt = load_checkpoint(path)
        if ckpt["model_cfg"] != self.model_cfg:
            raise ReslstmError(
                f"{path} was trained with a different model config; use another tag= or "
                "train.resume=none with a fresh run directory"
            )
        if ckpt.get("world_size", 1) != self.dist.world_size:
            raise ReslstmError(
                f"{path} was written with {ckpt.get('world_size', 1)} processes; resume with "
                f"the same number (now {self.dist.world_size})"
            )
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.schedule.load_state_dict(ckpt["schedule"])
        self.state = TrainState(**ckpt["state"])
        set_rng_state(ckpt["rng"][self.dist.rank])
        if self.dist.is_main:
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
        total_frames = sum(num_frames(c, shift) for c in self.train_cuts) * len(hist)
        return {
            "model": self.model_cfg["name"],
            "cell": self.model_cfg["cell"],
            "num_layers": self.model_cfg["num_layers"],
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
