"""The three LSTM cells: plain LSTMP, highway LSTM and residual LSTM (paper.md equations).

A cell owns only its parameters and its equations. The time loop, padding, directions, dropout
and the choice of implementation live in :mod:`reslstm.models.recurrent`.

Every cell splits its work the same way so that the loop stays shared and fast:

* :meth:`LSTMCellBase.input_side` computes, for all time steps at once, every term that does not
  depend on the recurrent state (``W_x x_t + b``, the highway ``w_ld ⊙ c_t^(l-1)``, the residual
  shortcut ``W_h x_t``) and returns ``(pre, aux)``, both time-major ``[T, B, *]``.
* :meth:`LSTMCellBase.step` advances one time step from ``(pre_t, aux_t, h, c)``.

Gate rows are laid out like ``torch.nn.LSTM`` (i, f, g, o), so a plain cell without peepholes
maps one-to-one onto it (see :mod:`reslstm.models.torch_lstm`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

INIT_SCHEMES = ("glorot", "uniform")
# Highway depth-gate bias b_d under ``glorot``: d_t starts near sigmoid(-2) = 0.12, so a cell
# carries a little of the lower layer's cell. With b_d = 0 (d_t ~ 0.5) the carried cells add up
# through depth and time: the cell state of a fresh 10-layer highway stack grows 10^7-fold from
# layer 1 to 10 (docs/training.md); Srivastava et al.'s highway networks likewise start their
# gates' biases negative.
DEPTH_GATE_BIAS = -2.0


class LSTMCellBase(nn.Module):
    """Parameters and step equations shared by all cells (input, forget, cell-input gates).

    ``rec_gates`` is the number of rows of ``weight_hh`` (gates fed by h_(t-1)), ``pre_gates``
    the number of columns of ``pre``. Subclasses override :meth:`_output` (and :meth:`_carry`).
    """

    def __init__(
        self,
        input_size: int,
        cell_size: int,
        proj_size: int,
        out_gate: int,
        n_peepholes: int,
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.cell_size = cell_size
        self.proj_size = proj_size
        self.out_gate = out_gate  # units of the output gate: n_c (plain/highway) or n_p (residual)
        self.rec_gates = 3 * cell_size + out_gate  # i, f, g (n_c each) and o
        self.pre_gates = self.rec_gates
        # W_x* stacked as rows i, f, g, o; W_h* likewise; one bias per gate (b_i, b_f, b_c, b_o).
        self.weight_ih = nn.Parameter(torch.empty(self.rec_gates, input_size))
        self.weight_hh = nn.Parameter(torch.empty(self.rec_gates, proj_size))
        self.bias = nn.Parameter(torch.empty(self.rec_gates))
        # W_p: the recurrent projection n_p x n_c.
        self.weight_proj = nn.Parameter(torch.empty(proj_size, cell_size))
        # Diagonal peepholes, rows w_ci, w_cf (, w_co for plain/highway); none when disabled.
        self.peephole = nn.Parameter(torch.empty(n_peepholes, cell_size)) if n_peepholes else None

    def reset_parameters(self, scheme: str = "glorot") -> None:
        """Initialise every tensor; the forget-gate bias b_f is 1 in both schemes.

        ``glorot``: each of the paper's weight matrices (W_xi, W_hi, W_xf, ..., W_p, W_xd, W_h)
        Glorot-uniform on its own (bound sqrt(6 / (fan_in + fan_out))), zero biases except the
        highway depth gate's (``DEPTH_GATE_BIAS``), peepholes U(-1/sqrt(n_c), 1/sqrt(n_c)). It
        keeps the size of signals and gradients through a 10-layer stack; ``uniform`` is
        ``torch.nn.LSTM``'s U(-1/sqrt(n_c), 1/sqrt(n_c)) for every tensor, which shrinks the
        gradient ~5x per plain layer (docs/training.md).
        """
        if scheme not in INIT_SCHEMES:
            raise ValueError(f"init must be one of {INIT_SCHEMES}, got {scheme!r}")
        bound = 1.0 / math.sqrt(self.cell_size)
        for name, p in self.named_parameters():
            if scheme == "uniform" or "peephole" in name:  # diagonal weights: w_c*, w_cd, w_ld
                nn.init.uniform_(p, -bound, bound)
            elif name.startswith("bias"):
                nn.init.zeros_(p)
            elif name in ("weight_ih", "weight_hh"):  # W_xi, W_xf, W_xc, W_xo (W_h* alike)
                with torch.no_grad():
                    for gate in self.gate_rows():
                        nn.init.xavier_uniform_(p[gate])
            else:  # W_p, W_xd, the residual W_h (weight_sc), W_co
                nn.init.xavier_uniform_(p)
        with torch.no_grad():
            self.bias[self.cell_size : 2 * self.cell_size].fill_(1.0)

    def gate_rows(self) -> list[slice]:
        """Rows of ``weight_ih`` / ``weight_hh`` / ``bias`` of each gate: i, f, g (c), o."""
        n = self.cell_size
        return [slice(0, n), slice(n, 2 * n), slice(2 * n, 3 * n), slice(3 * n, self.rec_gates)]

    # -- input side (all time steps at once) -------------------------------------------------
    def input_side(self, x: Tensor, lower: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """All steps at once: ``pre = W_x x + b`` and ``aux``, the cell's extra input (none)."""
        return torch.nn.functional.linear(x, self.weight_ih, self.bias), None

    # -- one time step ------------------------------------------------------------------------
    def step(
        self, pre_t: Tensor, aux_t: Tensor | None, h: Tensor, c: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Advance one step: ``(h_{t-1}, c_{t-1}) -> (h_t, c_t)``."""
        n = self.cell_size
        z = torch.addmm(pre_t[:, : self.rec_gates], h, self.weight_hh.t())  # W_x x + W_h h + b
        zi, zf, zg = z[:, :n], z[:, n : 2 * n], z[:, 2 * n : 3 * n]
        if self.peephole is not None:
            zi = zi + self.peephole[0] * c  # i_t: + w_ci ⊙ c_(t-1)
            zf = zf + self.peephole[1] * c  # f_t: + w_cf ⊙ c_(t-1)
        i, f, g = torch.sigmoid(zi), torch.sigmoid(zf), torch.tanh(zg)  # i_t, f_t, g_t
        c_new = f * c + i * g  # c_t = f_t ⊙ c_(t-1) + i_t ⊙ g_t
        c_new = self._carry(pre_t, aux_t, c, c_new)
        return self._output(z[:, 3 * n :], aux_t, c_new), c_new

    def _carry(self, pre_t: Tensor, aux_t: Tensor | None, c: Tensor, c_new: Tensor) -> Tensor:
        """Extra cell input (the highway depth path); none by default."""
        return c_new

    def _output(self, zo: Tensor, aux_t: Tensor | None, c_new: Tensor) -> Tensor:
        raise NotImplementedError


class PlainCell(LSTMCellBase):
    """LSTMP with diagonal peepholes (Sak et al.): paper.md "Plain LSTMP"."""

    def __init__(self, input_size: int, cell_size: int, proj_size: int, peepholes: bool) -> None:
        super().__init__(input_size, cell_size, proj_size, cell_size, 3 if peepholes else 0)
        self.reset_parameters()

    def _output(self, zo: Tensor, aux_t: Tensor | None, c_new: Tensor) -> Tensor:
        if self.peephole is not None:
            zo = zo + self.peephole[2] * c_new  # o_t: + w_co ⊙ c_t (reads the new cell)
        m = torch.sigmoid(zo) * torch.tanh(c_new)  # m_t = o_t ⊙ tanh(c_t)
        return m @ self.weight_proj.t()  # h_t = W_p m_t


class HighwayCell(PlainCell):
    """Highway LSTM (Zhang et al. 2016): plain LSTMP plus a depth gate on the lower layer's cell.

    ``aux`` is the lower layer's cell sequence ``c^(l-1)`` (same direction). Used from layer 2 on;
    layer 1 of a highway stack is a :class:`PlainCell`.
    """

    def __init__(self, input_size: int, cell_size: int, proj_size: int, peepholes: bool) -> None:
        super().__init__(input_size, cell_size, proj_size, peepholes)
        self.pre_gates = self.rec_gates + cell_size  # + the depth gate's input part
        # W_xd and b_d, kept apart from the i, f, g, o rows (the depth gate has no W_hd).
        self.weight_xd = nn.Parameter(torch.empty(cell_size, input_size))
        self.bias_d = nn.Parameter(torch.empty(cell_size))
        # Depth-gate diagonal weights: row 0 w_cd (on c_(t-1)), row 1 w_ld (on c_t^(l-1)).
        self.depth_peephole = nn.Parameter(torch.empty(2, cell_size))
        self.reset_parameters()

    def reset_parameters(self, scheme: str = "glorot") -> None:
        super().reset_parameters(scheme)
        if scheme == "glorot" and hasattr(self, "bias_d"):  # called again once b_d exists
            with torch.no_grad():
                self.bias_d.fill_(DEPTH_GATE_BIAS)

    def input_side(self, x: Tensor, lower: Tensor | None) -> tuple[Tensor, Tensor | None]:
        if lower is None:
            raise ValueError("a highway cell needs the lower layer's cell sequence")
        pre = torch.nn.functional.linear(x, self.weight_ih, self.bias)
        # d_t, state-free part: W_xd x_t + w_ld ⊙ c_t^(l-1) + b_d
        pre_d = torch.nn.functional.linear(x, self.weight_xd, self.bias_d)
        pre_d = pre_d + self.depth_peephole[1] * lower
        return torch.cat([pre, pre_d], dim=-1), lower

    def _carry(self, pre_t: Tensor, aux_t: Tensor | None, c: Tensor, c_new: Tensor) -> Tensor:
        assert aux_t is not None
        d = torch.sigmoid(pre_t[:, self.rec_gates :] + self.depth_peephole[0] * c)  # d_t
        return c_new + d * aux_t  # c_t += d_t ⊙ c_t^(l-1)


class ResidualCell(LSTMCellBase):
    """Residual LSTM (Kim et al. 2017): shortcut from the layer input added before the output gate.

    The output gate has ``n_p`` units. The shortcut ``W_h x_t`` is the identity (no parameter) when
    the shortcut source has ``n_p`` features, else a learned ``n_p x n_in`` matrix ``weight_sc``.
    ``shortcut`` optionally selects the feature slice of ``x`` that feeds it (the same-direction
    half of a bidirectional lower layer). ``output_peephole="full"`` adds an ``n_p x n_c`` matrix
    ``W_co c_t`` to the output gate; ``"none"`` (default) drops the output peephole.
    """

    def __init__(
        self,
        input_size: int,
        cell_size: int,
        proj_size: int,
        peepholes: bool,
        output_peephole: str = "none",
        shortcut: slice | None = None,
    ) -> None:
        super().__init__(input_size, cell_size, proj_size, proj_size, 2 if peepholes else 0)
        self.shortcut = shortcut or slice(0, input_size)
        sc_size = len(range(input_size)[self.shortcut])
        # W_h: identity by construction when sizes match, learned otherwise (no bias: paper eq.).
        self.weight_sc = (
            nn.Parameter(torch.empty(proj_size, sc_size)) if sc_size != proj_size else None
        )
        self.weight_co = (
            nn.Parameter(torch.empty(proj_size, cell_size)) if output_peephole == "full" else None
        )
        self.reset_parameters()

    def input_side(self, x: Tensor, lower: Tensor | None) -> tuple[Tensor, Tensor | None]:
        pre = torch.nn.functional.linear(x, self.weight_ih, self.bias)
        s = x[..., self.shortcut]
        if self.weight_sc is not None:
            s = s @ self.weight_sc.t()  # W_h x_t (learned where n_in != n_p)
        return pre, s  # identity shortcut: W_h x_t = x_t

    def _output(self, zo: Tensor, aux_t: Tensor | None, c_new: Tensor) -> Tensor:
        assert aux_t is not None
        if self.weight_co is not None:
            zo = zo + c_new @ self.weight_co.t()  # o_t: + W_co c_t (full output peephole)
        r = torch.tanh(c_new)  # r_t = tanh(c_t)
        m = r @ self.weight_proj.t()  # m_t = W_p r_t
        return torch.sigmoid(zo) * (m + aux_t)  # h_t = o_t ⊙ (m_t + W_h x_t)


def initial_state(
    cell: LSTMCellBase, pre: Tensor, state: tuple[Tensor, Tensor] | None
) -> tuple[Tensor, Tensor]:
    """``(h_0, c_0)``: ``state`` (the state a stream left off at) or zeros."""
    if state is not None:
        return state
    batch = pre.shape[1]
    return pre.new_zeros(batch, cell.proj_size), pre.new_zeros(batch, cell.cell_size)
