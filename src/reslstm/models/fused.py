"""Fast recurrence: the cells' step equations without autograd, and a hand-written backward.

The eager loop (:func:`.recurrent.loop_recurrence`) records ~15 autograd nodes per time step and
computes the recurrent weight gradients as T small matrix products. Here:

* the forward runs without autograd, writing gate activations, h_t and c_t straight into
  preallocated ``[T, B, *]`` buffers (no per-step copies);
* before the backward loop, every factor of the chain rule that is known from the forward
  (σ', tanh', and the products they are multiplied with) is computed for all steps at once, so
  that each gate's gradient is a single multiply inside the loop;
* the backward loop computes only the serial chain (dz, dh, dc) and every weight gradient is
  one large product or reduction over all ``T * B`` rows after it.

It computes the same function as the eager cells (tests compare outputs and gradients against
them and a float64 reference, and run ``gradcheck``). :class:`FusedRecurrence` owns the loop,
the direction and the masking; one kernel per cell type owns that cell's step equations.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .cells import HighwayCell, LSTMCellBase, ResidualCell, initial_state
from .padding import Padding


def _dsigmoid(y: Tensor) -> Tensor:
    """σ'(z) written with y = σ(z)."""
    return y - y * y


def _dtanh(y: Tensor) -> Tensor:
    """tanh'(z) written with y = tanh(z)."""
    return 1.0 - y * y


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

    ``acts[t]`` holds step t's gate activations in the cell's row layout (i, f, g, o).
    Subclasses add their output path (and, for highway, the depth path).
    """

    def __init__(self, cell: LSTMCellBase) -> None:
        self.n = cell.cell_size
        self.rec_gates = cell.rec_gates
        self.pre_gates = cell.pre_gates
        self.weight_hh = cell.weight_hh.detach()
        self.weight_proj = cell.weight_proj.detach()
        self.peephole = None if cell.peephole is None else cell.peephole.detach()

    @staticmethod
    def weights(cell: Any) -> list[Tensor]:
        """Parameters read inside the loop, in the order :meth:`weight_grads` returns them."""
        peephole = [] if cell.peephole is None else [cell.peephole]
        return [cell.weight_hh, cell.weight_proj, *peephole]

    # -- forward -----------------------------------------------------------------------------
    def allocate(self, pre: Tensor, aux: Tensor | None) -> None:
        """Buffers for one sequence; ``aux`` is kept for the backward."""
        self.acts = pre.new_empty(pre.shape[0], pre.shape[1], self.rec_gates)
        self.aux = aux

    def forward(
        self,
        t: int,
        pre_t: Tensor,
        aux_t: Tensor | None,
        h: Tensor,
        c: Tensor,
        h_out: Tensor,
        c_out: Tensor,
    ) -> None:
        """Step t: ``(h_(t-1), c_(t-1))`` -> ``h_out``, ``c_out``; activations kept."""
        raise NotImplementedError

    def memory_forward(self, t: int, pre_t: Tensor, h: Tensor, c: Tensor, c_out: Tensor) -> None:
        """i_t, f_t, g_t into ``acts[t]``; c_t = f_t ⊙ c_(t-1) + i_t ⊙ g_t into ``c_out``."""
        n, a = self.n, self.acts[t]
        torch.addmm(pre_t[:, : self.rec_gates], h, self.weight_hh.t(), out=a)  # W_x x + b + W_h h
        zif = a[:, : 2 * n]
        if self.peephole is not None:  # i_t, f_t: + w_ci ⊙ c_(t-1), + w_cf ⊙ c_(t-1)
            zif.unflatten(1, (2, n)).addcmul_(self.peephole[:2], c.unsqueeze(1))
        zif.sigmoid_()  # i_t, f_t = σ(...)
        a[:, 2 * n : 3 * n].tanh_()  # g_t = tanh(...)
        torch.mul(a[:, n : 2 * n], c, out=c_out).addcmul_(a[:, :n], a[:, 2 * n : 3 * n])  # c_t

    # -- backward ----------------------------------------------------------------------------
    def prepare_backward(self, seq: Sequences) -> None:
        """Chain-rule factors known from the forward, for all steps at once.

        ``coef[t]`` is ``[B, 3, n]``: dz_i = dc ⊙ g σ'(i), dz_f = dc ⊙ c_(t-1) σ'(f),
        dz_g = dc ⊙ i tanh'(g).
        """
        n, a = self.n, self.acts
        i, f, g = a[..., :n], a[..., n : 2 * n], a[..., 2 * n : 3 * n]
        self.coef = torch.stack([g * _dsigmoid(i), seq.c_prev * _dsigmoid(f), i * _dtanh(g)], 2)

    def backward(self, t: int, dh: Tensor, dc: Tensor, dz: Tensor, daux_t: Tensor | None) -> Tensor:
        """dL/dh_t, dL/dc_t -> ``dz`` (= dL/dpre_t), ``daux_t`` and the returned dL/dc_(t-1)."""
        raise NotImplementedError

    def memory_backward(self, t: int, dc: Tensor, dz: Tensor) -> Tensor:
        """Given dL/dc_t, write dL/dz for i, f, g into ``dz``; return dL/dc_(t-1)."""
        n = self.n
        dzifg = dz[:, : 3 * n].unflatten(1, (3, n))
        torch.mul(dc.unsqueeze(1), self.coef[t], out=dzifg)
        dc_prev = dc * self.acts[t][:, n : 2 * n]  # through f_t ⊙ c_(t-1)
        if self.peephole is not None:  # through w_ci, w_cf
            dc_prev.addcmul_(dzifg[:, 0], self.peephole[0]).addcmul_(dzifg[:, 1], self.peephole[1])
        return dc_prev

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
    """o_t = σ(... + w_co ⊙ c_t), h_t = W_p (o_t ⊙ tanh c_t); highway adds the depth path."""

    def allocate(self, pre: Tensor, aux: Tensor | None) -> None:
        super().allocate(pre, aux)
        self.tanh_c = pre.new_empty(pre.shape[0], pre.shape[1], self.n)

    def forward(
        self,
        t: int,
        pre_t: Tensor,
        aux_t: Tensor | None,
        h: Tensor,
        c: Tensor,
        h_out: Tensor,
        c_out: Tensor,
    ) -> None:
        n = self.n
        self.memory_forward(t, pre_t, h, c, c_out)
        self.carry(t, pre_t, aux_t, c, c_out)
        o = self.acts[t][:, 3 * n :]
        if self.peephole is not None:
            o.addcmul_(self.peephole[2], c_out)  # o_t: + w_co ⊙ c_t
        o.sigmoid_()  # o_t
        tc = torch.tanh(c_out, out=self.tanh_c[t])
        torch.mm(o * tc, self.weight_proj.t(), out=h_out)  # h_t = W_p m_t, m_t = o_t ⊙ tanh c_t

    def carry(self, t: int, pre_t: Tensor, aux_t: Tensor | None, c: Tensor, c_out: Tensor) -> None:
        """Extra cell input (the highway depth path); none here."""

    def prepare_backward(self, seq: Sequences) -> None:
        super().prepare_backward(seq)
        o = self.acts[..., 3 * self.n :]
        self.coef_o = self.tanh_c * _dsigmoid(o)  # dz_o = dm ⊙ tanh(c) σ'(o)
        self.coef_c = o * _dtanh(self.tanh_c)  # dc += dm ⊙ o tanh'(c)

    def backward(self, t: int, dh: Tensor, dc: Tensor, dz: Tensor, daux_t: Tensor | None) -> Tensor:
        n = self.n
        dm = dh @ self.weight_proj  # h_t = W_p m_t
        dzo = torch.mul(dm, self.coef_o[t], out=dz[:, 3 * n : 4 * n])
        dc = torch.addcmul(dc, dm, self.coef_c[t])
        if self.peephole is not None:
            dc.addcmul_(dzo, self.peephole[2])  # o_t's peephole reads c_t
        dc_prev = self.memory_backward(t, dc, dz)
        self.carry_backward(t, dc, dz, daux_t, dc_prev)
        return dc_prev

    def carry_backward(
        self, t: int, dc: Tensor, dz: Tensor, daux_t: Tensor | None, dc_prev: Tensor
    ) -> None:
        """Backward of :meth:`carry`: fills its ``dz`` columns and adds to ``dc_prev``."""

    def weight_grads(self, seq: Sequences) -> list[Tensor]:
        n = self.n
        weight_hh, peepholes = self.memory_grads(seq)
        m = self.acts[..., 3 * n :] * self.tanh_c
        grads = [weight_hh, _rows(seq.dh).t() @ _rows(m)]  # W_h, W_p
        if self.peephole is not None:
            w_co = (seq.dz[..., 3 * n : 4 * n] * seq.cs).sum((0, 1))
            grads.append(torch.stack([*peepholes, w_co]))
        return grads


class HighwayKernel(PlainKernel):
    """Adds the depth gate d_t and c_t += d_t ⊙ c_t^(l-1) (``aux`` = the lower cell sequence)."""

    def __init__(self, cell: HighwayCell) -> None:
        super().__init__(cell)
        self.w_cd = cell.depth_peephole.detach()[0]

    @staticmethod
    def weights(cell: Any) -> list[Tensor]:
        return [*PlainKernel.weights(cell), cell.depth_peephole]

    def allocate(self, pre: Tensor, aux: Tensor | None) -> None:
        super().allocate(pre, aux)
        self.depth = pre.new_empty(pre.shape[0], pre.shape[1], self.n)

    def carry(self, t: int, pre_t: Tensor, aux_t: Tensor | None, c: Tensor, c_out: Tensor) -> None:
        # d_t = σ(W_xd x_t + w_ld ⊙ c_t^(l-1) + b_d [all in pre] + w_cd ⊙ c_(t-1))
        d = torch.addcmul(pre_t[:, self.rec_gates :], self.w_cd, c, out=self.depth[t]).sigmoid_()
        c_out.addcmul_(d, aux_t)  # c_t += d_t ⊙ c_t^(l-1)

    def prepare_backward(self, seq: Sequences) -> None:
        super().prepare_backward(seq)
        assert self.aux is not None
        self.coef_d = self.aux * _dsigmoid(self.depth)  # dz_d = dc ⊙ c^(l-1) σ'(d)

    def carry_backward(
        self, t: int, dc: Tensor, dz: Tensor, daux_t: Tensor | None, dc_prev: Tensor
    ) -> None:
        torch.mul(dc, self.depth[t], out=daux_t)  # dL/dc_t^(l-1)
        dzd = torch.mul(dc, self.coef_d[t], out=dz[:, self.rec_gates :])
        dc_prev.addcmul_(dzd, self.w_cd)

    def weight_grads(self, seq: Sequences) -> list[Tensor]:
        w_cd = (seq.dz[..., self.rec_gates :] * seq.c_prev).sum((0, 1))
        depth = torch.stack([w_cd, torch.zeros_like(w_cd)])  # w_ld acts through pre
        return [*super().weight_grads(seq), depth]


class ResidualKernel(Kernel):
    """r_t = tanh(c_t), m_t = W_p r_t, h_t = o_t ⊙ (m_t + W_h x_t) (``aux`` = W_h x)."""

    def __init__(self, cell: ResidualCell) -> None:
        super().__init__(cell)
        self.weight_co = None if cell.weight_co is None else cell.weight_co.detach()

    @staticmethod
    def weights(cell: Any) -> list[Tensor]:
        weight_co = [] if cell.weight_co is None else [cell.weight_co]
        return [*Kernel.weights(cell), *weight_co]

    def allocate(self, pre: Tensor, aux: Tensor | None) -> None:
        super().allocate(pre, aux)
        steps, batch = pre.shape[:2]
        self.r = pre.new_empty(steps, batch, self.n)
        self.u = pre.new_empty(steps, batch, self.weight_proj.shape[0])

    def forward(
        self,
        t: int,
        pre_t: Tensor,
        aux_t: Tensor | None,
        h: Tensor,
        c: Tensor,
        h_out: Tensor,
        c_out: Tensor,
    ) -> None:
        assert aux_t is not None
        self.memory_forward(t, pre_t, h, c, c_out)
        o = self.acts[t][:, 3 * self.n :]
        if self.weight_co is not None:
            o.addmm_(c_out, self.weight_co.t())  # o_t: + W_co c_t
        o.sigmoid_()  # o_t
        r = torch.tanh(c_out, out=self.r[t])  # r_t = tanh(c_t)
        u = torch.addmm(aux_t, r, self.weight_proj.t(), out=self.u[t])  # m_t + W_h x_t
        torch.mul(o, u, out=h_out)  # h_t = o_t ⊙ (m_t + W_h x_t)

    def prepare_backward(self, seq: Sequences) -> None:
        super().prepare_backward(seq)
        self.coef_o = self.u * _dsigmoid(self.acts[..., 3 * self.n :])  # dz_o = dh ⊙ u σ'(o)
        self.coef_r = _dtanh(self.r)  # dc += dr ⊙ tanh'(c)

    def backward(self, t: int, dh: Tensor, dc: Tensor, dz: Tensor, daux_t: Tensor | None) -> Tensor:
        dzo = torch.mul(dh, self.coef_o[t], out=dz[:, 3 * self.n :])
        du = torch.mul(dh, self.acts[t][:, 3 * self.n :], out=daux_t)  # = dL/dm_t = dL/dW_h x_t
        dc = torch.addcmul(dc, du @ self.weight_proj, self.coef_r[t])
        if self.weight_co is not None:
            dc.addmm_(dzo, self.weight_co)
        return self.memory_backward(t, dc, dz)

    def weight_grads(self, seq: Sequences) -> list[Tensor]:
        assert seq.daux is not None
        weight_hh, peepholes = self.memory_grads(seq)
        grads = [weight_hh, _rows(seq.daux).t() @ _rows(self.r)]  # W_h, W_p (dL/dm_t = dL/du_t)
        if self.peephole is not None:
            grads.append(torch.stack(peepholes))
        if self.weight_co is not None:
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
        steps, batch = pre.shape[:2]
        kernel.allocate(pre, aux)
        hs = pre.new_empty(steps, batch, kernel.weight_proj.shape[0])
        cs = pre.new_empty(steps, batch, kernel.n)
        h, c = h0, c0
        for t in range(steps - 1, -1, -1) if reverse else range(steps):
            kernel.forward(t, pre[t], None if aux is None else aux[t], h, c, hs[t], cs[t])
            if t >= pad.min_len:  # some sequences have ended: freeze their state
                torch.where(pad.mask[t], hs[t], h, out=hs[t])
                torch.where(pad.mask[t], cs[t], c, out=cs[t])
            h, c = hs[t], cs[t]
        ctx.kernel, ctx.pad, ctx.reverse = kernel, pad, reverse
        ctx.save_for_backward(hs, cs, h0, c0)
        ctx.set_materialize_grads(False)
        return hs, cs

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, dhs: Tensor | None, dcs: Tensor | None) -> tuple[Tensor | None, ...]:
        kernel, pad, reverse = ctx.kernel, ctx.pad, ctx.reverse
        hs, cs, h0, c0 = ctx.saved_tensors
        dpre = hs.new_empty(*hs.shape[:2], kernel.pre_gates)
        daux = None if kernel.aux is None else torch.empty_like(kernel.aux)
        h_prev, c_prev = _shift(hs, h0, reverse), _shift(cs, c0, reverse)
        seq = Sequences(h_prev, c_prev, cs, dpre, torch.empty_like(hs), daux)
        kernel.prepare_backward(seq)
        keep_all = pad.mask.to(hs.dtype)  # 1 on real frames, 0 on padding
        dh_rec, dc = hs.new_zeros(hs.shape[1:]), cs.new_zeros(cs.shape[1:])
        for t in range(hs.shape[0]) if reverse else range(hs.shape[0] - 1, -1, -1):
            dh = seq.dh[t]  # dL/dh_t: from the output and from step t+1
            if dhs is None:
                dh.copy_(dh_rec)
            else:
                torch.add(dh_rec, dhs[t], out=dh)
            if dcs is not None:
                dc = dc + dcs[t]
            masked = t >= pad.min_len
            if masked:  # frozen rows pass their gradient straight to the previous state
                keep = keep_all[t]
                dh_keep, dc_keep = dh - dh * keep, dc - dc * keep
                dh.mul_(keep)
                dc = dc * keep
            dc = kernel.backward(t, dh, dc, dpre[t], None if daux is None else daux[t])
            dh_rec = dpre[t][:, : kernel.rec_gates] @ kernel.weight_hh  # through W_h h_(t-1)
            if masked:
                dh_rec.add_(dh_keep)
                dc = dc + dc_keep
        # dh_rec, dc: dL/dh0, dL/dc0
        return (None, None, None, dpre, daux, dh_rec, dc, *kernel.weight_grads(seq))


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

    Under autocast the recurrence runs in the parameters' dtype (its buffers are preallocated).
    """
    weights = kernel_cls.weights(cell)
    h0, c0 = initial_state(cell, pre, state)
    if torch.is_autocast_enabled(pre.device.type):
        dtype = weights[0].dtype
        with torch.autocast(pre.device.type, enabled=False):
            pre, aux = pre.to(dtype), None if aux is None else aux.to(dtype)
            h0, c0 = h0.to(dtype), c0.to(dtype)
            return FusedRecurrence.apply(kernel_cls(cell), pad, reverse, pre, aux, h0, c0, *weights)
    return FusedRecurrence.apply(kernel_cls(cell), pad, reverse, pre, aux, h0, c0, *weights)
