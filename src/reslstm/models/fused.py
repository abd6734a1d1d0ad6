"""Fast recurrence: the cells' step equations without autograd, and a hand-written backward.

The eager loop (:func:`.recurrent.loop_recurrence`) records ~15 autograd nodes per time step and
computes the recurrent weight gradients as T small matrix products. Here:

* the forward runs without autograd, writing gate activations, h_t and c_t straight into
  preallocated ``[T, B, *]`` buffers (no per-step copies);
* the backward loop computes only the serial chain (dz, dh, dc), with the factors of the chain
  rule known from the forward (σ', tanh', and the products they are multiplied with) computed
  from the kept activations in the same pass, and every weight gradient is one large product or
  reduction over all ``T * B`` rows after it;
* both time loops run in C++ (``csrc/recurrence.cpp``, compiled on first use): ATen's matrix
  products, σ and tanh, and elementwise blocks that round as the ATen operations they replace,
  so the numbers are those of the same loops written with ATen operations in Python.

It computes the same function as the eager cells (tests compare outputs and gradients against
them and a float64 reference, and run ``gradcheck``). :class:`FusedRecurrence` owns the
direction, the masking and the calls into the loops; one kernel per cell type owns that cell's
whole-sequence equations (the loops' step equations are in the C++ file, per cell kind).
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .cells import HighwayCell, LSTMCellBase, ResidualCell, initial_state
from .padding import Padding

LOOPS_SOURCE = Path(__file__).with_name("csrc") / "recurrence.cpp"
# False: the loops' elementwise blocks run as ATen operations on the CPU too (as they do on
# other devices); tests compare that bitwise with the plain C++ blocks (csrc/recurrence.cpp).
PLAIN_CPP_BLOCKS = True


@functools.cache
def _aten_cpu_fma() -> bool:
    """ATen's CPU kernels are its AVX2 or AVX-512 ones, whose addcmul rounds once (a fused
    multiply-add), as the C++ blocks do (fixed for the process)."""
    return torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512")


def _cpu_fma() -> bool:
    """Whether the plain C++ blocks may run."""
    return PLAIN_CPP_BLOCKS and _aten_cpu_fma()


@functools.cache
def loops() -> Any:
    """``torch.ops.reslstm`` with ``forward_loop`` and ``backward_loop``: csrc/recurrence.cpp,
    compiled on first use (~10-30 s; scripts/setup_env.sh does it once) into the Python
    environment (``<sys.prefix>/reslstm-extensions``), so that each environment builds against
    its own torch; later loads only check that the source is unchanged."""
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)  # "no CUDA runtime"
    from torch.utils import cpp_extension

    build = Path(sys.prefix) / "reslstm-extensions" / "recurrence"
    try:
        build.mkdir(parents=True, exist_ok=True)
        _drop_stale_lock(build / "lock")
        cpp_extension.load(
            name="reslstm_recurrence",
            sources=[str(LOOPS_SOURCE)],
            build_directory=str(build),
            extra_cflags=["-O3", "-ffp-contract=off"],  # explicit fused multiply-adds only
            is_python_module=False,
        )
    except (OSError, RuntimeError) as err:
        raise RuntimeError(
            f"cannot build {LOOPS_SOURCE}, the fused recurrence's C++ loops "
            f"({str(err).splitlines()[0]}); they "
            "need a C++ compiler and ninja (scripts/setup_env.sh installs both), or run the "
            "eager loop with model.impl=loop"
        ) from err
    return torch.ops.reslstm


def _drop_stale_lock(lock: Path, max_age_s: float = 600.0) -> None:
    """Remove the build lock a killed build left behind (``cpp_extension`` would wait for it
    forever); a build takes seconds, so a lock older than ``max_age_s`` has no owner."""
    try:
        if time.time() - lock.stat().st_mtime > max_age_s:
            lock.unlink(missing_ok=True)
    except FileNotFoundError:
        pass


def _rows(x: Tensor) -> Tensor:
    """``[T, B, N]`` -> ``[T * B, N]``."""
    return x.reshape(-1, x.shape[-1])


class Sequences(NamedTuple):
    """Whole-sequence ``[T, B, *]`` tensors of one direction of one layer."""

    h_prev: Tensor  # h_(t-1)
    c_prev: Tensor  # c_(t-1)
    cs: Tensor  # c_t
    dz: Tensor  # dL/dpre: pre-activation gradients of every gate
    dh: Tensor  # dL/dh_t on each step's own output (zero on padded frames)
    daux: Tensor | None  # dL/daux


class Kernel:
    """Equations shared by every cell: gates i, f, g (with peepholes) and the cell update.

    ``kind`` names the cell's step equations in csrc/recurrence.cpp; ``extra`` is the one
    further parameter they read (highway w_cd, residual W_co). ``acts[t]`` holds step t's gate
    activations in the cell's row layout (i, f, g, o). Subclasses add their output path (and,
    for highway, the depth path).
    """

    kind = "plain"

    def __init__(self, cell: LSTMCellBase) -> None:
        self.n = cell.cell_size
        self.rec_gates = cell.rec_gates
        self.pre_gates = cell.pre_gates
        self.weight_hh = cell.weight_hh.detach()
        self.weight_proj = cell.weight_proj.detach()
        self.peephole = None if cell.peephole is None else cell.peephole.detach()
        self.extra: Tensor | None = None
        # the recurrent products' dtype where it is lower than the loop's (autocast), else None
        self.product_dtype: torch.dtype | None = None

    @staticmethod
    def weights(cell: Any) -> list[Tensor]:
        """Parameters read inside the loop, in the order :meth:`weight_grads` returns them."""
        peephole = [] if cell.peephole is None else [cell.peephole]
        return [cell.weight_hh, cell.weight_proj, *peephole]

    def keep(self, acts: Tensor, buffers: list[Tensor], aux: Tensor | None) -> None:
        """Keep what the forward loop wrote (``buffers``: the cell's own, named in its class
        docstring) and ``aux`` for the backward loop and the weight gradients."""
        self.acts, self.buffers, self.aux = acts, buffers, aux

    def weight_grads(self, seq: Sequences) -> list[Tensor]:
        """Gradients of :meth:`weights` from the whole-sequence tensors."""
        raise NotImplementedError

    def memory_grads(self, seq: Sequences) -> tuple[Tensor, list[Tensor]]:
        """dL/dW_h (one product over all steps) and the peephole rows dL/dw_ci, dL/dw_cf."""
        n, dz = self.n, seq.dz
        weight_hh = _rows(dz[..., : self.rec_gates]).t() @ _rows(seq.h_prev)
        if self.peephole is None:
            return weight_hh, []
        dzif = dz[..., : 2 * n].unflatten(-1, (2, n))
        return weight_hh, list((dzif * seq.c_prev.unsqueeze(2)).sum((0, 1)).unbind(0))


class PlainKernel(Kernel):
    """o_t = σ(... + w_co ⊙ c_t), h_t = W_p (o_t ⊙ tanh c_t); highway adds the depth path.
    The loop keeps ``buffers`` = [tanh c_t]."""

    def weight_grads(self, seq: Sequences) -> list[Tensor]:
        n = self.n
        weight_hh, peepholes = self.memory_grads(seq)
        m = self.acts[..., 3 * n :] * self.buffers[0]  # o_t ⊙ tanh c_t
        grads = [weight_hh, _rows(seq.dh).t() @ _rows(m)]  # W_h, W_p
        if self.peephole is not None:
            w_co = (seq.dz[..., 3 * n : 4 * n] * seq.cs).sum((0, 1))
            grads.append(torch.stack([*peepholes, w_co]))
        return grads


class HighwayKernel(PlainKernel):
    """Adds the depth gate d_t and c_t += d_t ⊙ c_t^(l-1) (``aux`` = the lower cell sequence).
    The loop keeps ``buffers`` = [tanh c_t, d_t]."""

    kind = "highway"

    def __init__(self, cell: HighwayCell) -> None:
        super().__init__(cell)
        self.extra = cell.depth_peephole.detach()[0]  # w_cd

    @staticmethod
    def weights(cell: Any) -> list[Tensor]:
        return [*PlainKernel.weights(cell), cell.depth_peephole]

    def weight_grads(self, seq: Sequences) -> list[Tensor]:
        w_cd = (seq.dz[..., self.rec_gates :] * seq.c_prev).sum((0, 1))
        depth = torch.stack([w_cd, torch.zeros_like(w_cd)])  # w_ld acts through pre
        return [*super().weight_grads(seq), depth]


class ResidualKernel(Kernel):
    """r_t = tanh(c_t), m_t = W_p r_t, h_t = o_t ⊙ (m_t + W_h x_t) (``aux`` = W_h x).
    The loop keeps ``buffers`` = [r_t, u_t = m_t + W_h x_t]."""

    kind = "residual"

    def __init__(self, cell: ResidualCell) -> None:
        super().__init__(cell)
        self.extra = None if cell.weight_co is None else cell.weight_co.detach()  # W_co

    @staticmethod
    def weights(cell: Any) -> list[Tensor]:
        weight_co = [] if cell.weight_co is None else [cell.weight_co]
        return [*Kernel.weights(cell), *weight_co]

    def weight_grads(self, seq: Sequences) -> list[Tensor]:
        assert seq.daux is not None
        weight_hh, peepholes = self.memory_grads(seq)
        r = self.buffers[0]
        grads = [weight_hh, _rows(seq.daux).t() @ _rows(r)]  # W_h, W_p (dL/dm_t = dL/du_t)
        if self.peephole is not None:
            grads.append(torch.stack(peepholes))
        if self.extra is not None:
            grads.append(_rows(seq.dz[..., 3 * self.n :]).t() @ _rows(seq.cs))
        return grads


def _shift(seq: Tensor, init: Tensor, reverse: bool) -> Tensor:
    """The state before each step: the sequence shifted one step against the direction, the
    initial state ``init`` first."""
    first = init.unsqueeze(0)
    return torch.cat([seq[1:], first]) if reverse else torch.cat([first, seq[:-1]])


class FusedRecurrence(torch.autograd.Function):
    """``(pre, aux, h0, c0, *weights) -> (h, c)`` sequences ``[T, B, *]`` from the initial state
    ``(h0, c0)``; see the module docstring."""

    @staticmethod
    def forward(
        ctx: Any,
        kernel: Kernel,
        pad: Padding,
        reverse: bool,
        pre: Tensor,
        aux: Tensor | None,
        h0: Tensor,
        c0: Tensor,
        *weights: Tensor,
    ) -> tuple[Tensor, Tensor]:
        hs, cs, acts, *buffers = loops().forward_loop(
            kernel.kind, pre, aux, h0, c0, kernel.weight_hh, kernel.weight_proj,
            kernel.peephole, kernel.extra, pad.mask, pad.min_len, reverse, _cpu_fma(),
            kernel.product_dtype,
        )  # fmt: skip
        kernel.keep(acts, buffers, aux)
        ctx.kernel, ctx.pad, ctx.reverse = kernel, pad, reverse
        ctx.save_for_backward(hs, cs, h0, c0)
        ctx.set_materialize_grads(False)
        return hs, cs

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, dhs: Tensor | None, dcs: Tensor | None) -> tuple[Tensor | None, ...]:
        kernel, pad, reverse = ctx.kernel, ctx.pad, ctx.reverse
        hs, cs, h0, c0 = ctx.saved_tensors
        h_prev, c_prev = _shift(hs, h0, reverse), _shift(cs, c0, reverse)
        dpre, dh, dh0, dc0, *daux = loops().backward_loop(
            kernel.kind, dhs, dcs, kernel.acts, kernel.buffers, c_prev, kernel.weight_hh,
            kernel.weight_proj, kernel.peephole, kernel.extra, pad.mask, pad.min_len, reverse,
            kernel.pre_gates, kernel.aux, _cpu_fma(), kernel.product_dtype,
        )  # fmt: skip
        seq = Sequences(h_prev, c_prev, cs, dpre, dh, daux[0] if daux else None)
        return (None, None, None, dpre, seq.daux, dh0, dc0, *kernel.weight_grads(seq))


def fused_recurrence(
    cell: LSTMCellBase,
    kernel_cls: Any,
    pre: Tensor,
    aux: Tensor | None,
    pad: Padding,
    reverse: bool,
    state: tuple[Tensor, Tensor] | None = None,
) -> tuple[Tensor, Tensor]:
    """Drop-in replacement for :func:`.recurrent.loop_recurrence` with the fused backward of
    ``kernel_cls`` (the cell type's :class:`Kernel`, models/registry.py).

    Under autocast (the trainer's bf16 on CUDA; CPU autocast alike) only the recurrent matrix
    products run in autocast's dtype: their operands are rounded to it, and gates, the cell
    state c_t and h_t stay in the parameters' dtype (fp32), as do the weight gradients after
    the loop.
    """
    weights = kernel_cls.weights(cell)
    kernel = kernel_cls(cell)
    h0, c0 = initial_state(cell, pre, state)
    device = pre.device.type
    if torch.amp.is_autocast_available(device) and torch.is_autocast_enabled(device):
        dtype = weights[0].dtype
        low = torch.get_autocast_dtype(device)
        kernel.product_dtype = None if low == dtype else low
        with torch.autocast(device, enabled=False):
            pre, aux = pre.to(dtype), None if aux is None else aux.to(dtype)
            h0, c0 = h0.to(dtype), c0.to(dtype)
            return FusedRecurrence.apply(kernel, pad, reverse, pre, aux, h0, c0, *weights)
    return FusedRecurrence.apply(kernel, pad, reverse, pre, aux, h0, c0, *weights)
