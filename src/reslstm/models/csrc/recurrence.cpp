// The serial time loops of the fused recurrence (reslstm/models/fused.py), in C++.
//
// The loops call the very ATen operations, in the same order and with the same operands, that
// the Python loops they replace called, so the numbers are bit for bit those of the Python
// loops; what goes away is the interpreter's overhead around ~20 small operations per step.
// Whole-sequence work (buffers' shapes, the chain-rule factors known from the forward, every
// weight gradient) stays in fused.py. Equations: paper.md (Kim, El-Khamy & Lee 2017), the
// same names as in cells.py.
//
// Layout: time-major [T, B, *]; gate rows i, f, g, o (then the highway depth gate d);
// n = cell size. ``mask`` [T, B, 1] is true on real frames; from ``min_len`` on, a sequence
// past its length keeps its state (forward) and passes its gradient straight through
// (backward).

#include <ATen/ATen.h>
#include <torch/library.h>

#include <optional>
#include <string>
#include <vector>

namespace {

using at::Tensor;
using Slice = at::indexing::Slice;

enum class Cell { plain, highway, residual };

Cell parse_cell(const std::string& name) {
  if (name == "plain") return Cell::plain;
  if (name == "highway") return Cell::highway;
  if (name == "residual") return Cell::residual;
  TORCH_CHECK(false, "reslstm recurrence: unknown cell kind '", name, "'");
}

// The parameters read inside the loop (detached). ``extra``: highway w_cd, residual W_co.
struct Weights {
  Tensor hh, proj;
  std::optional<Tensor> peephole, extra;
};

// i_t, f_t, g_t into acts_t; c_t = f_t ⊙ c_(t-1) + i_t ⊙ g_t into c_out.
void memory_forward(const Weights& w, int64_t n, const Tensor& pre_t, const Tensor& h,
                    const Tensor& c, Tensor& a, Tensor& c_out) {
  const int64_t rec = w.hh.size(0);
  at::addmm_out(a, pre_t.slice(1, 0, rec), h, w.hh.t());  // W_x x + b + W_h h_(t-1)
  Tensor zif = a.slice(1, 0, 2 * n);
  if (w.peephole) {  // i_t, f_t: + w_ci ⊙ c_(t-1), + w_cf ⊙ c_(t-1)
    zif.unflatten(1, {2, n}).addcmul_(w.peephole->slice(0, 0, 2), c.unsqueeze(1));
  }
  zif.sigmoid_();                       // i_t, f_t = σ(...)
  a.slice(1, 2 * n, 3 * n).tanh_();     // g_t = tanh(...)
  at::mul_out(c_out, a.slice(1, n, 2 * n), c)
      .addcmul_(a.slice(1, 0, n), a.slice(1, 2 * n, 3 * n));  // c_t
}

// Given dL/dc_t, dL/dz of i, f, g into dz; returns dL/dc_(t-1).
Tensor memory_backward(const Weights& w, int64_t n, const Tensor& coef_t, const Tensor& a,
                       const Tensor& dc, const Tensor& dz) {
  Tensor dzifg = dz.slice(1, 0, 3 * n).unflatten(1, {3, n});
  at::mul_out(dzifg, dc.unsqueeze(1), coef_t);  // coef: g σ'(i), c_(t-1) σ'(f), i tanh'(g)
  Tensor dc_prev = dc * a.slice(1, n, 2 * n);   // through f_t ⊙ c_(t-1)
  if (w.peephole) {                             // through w_ci, w_cf
    dc_prev.addcmul_(dzifg.select(1, 0), w.peephole->select(0, 0))
        .addcmul_(dzifg.select(1, 1), w.peephole->select(0, 1));
  }
  return dc_prev;
}

std::vector<int64_t> steps_in_order(int64_t steps, bool reverse) {
  std::vector<int64_t> order(steps);
  for (int64_t k = 0; k < steps; ++k) order[k] = reverse ? steps - 1 - k : k;
  return order;
}

// The forward loop from (h0, c0). Returns [hs, cs, acts, *buffers]: plain [tanh c], highway
// [tanh c, d], residual [r, u] (u_t = m_t + W_h x_t), all [T, B, *], kept for the backward.
std::vector<Tensor> forward_loop(const std::string& kind, const Tensor& pre,
                                 const std::optional<Tensor>& aux, const Tensor& h0,
                                 const Tensor& c0, const Tensor& weight_hh,
                                 const Tensor& weight_proj,
                                 const std::optional<Tensor>& peephole,
                                 const std::optional<Tensor>& extra, const Tensor& mask,
                                 int64_t min_len, bool reverse) {
  const Cell cell = parse_cell(kind);
  const Weights w{weight_hh, weight_proj, peephole, extra};
  const int64_t steps = pre.size(0), batch = pre.size(1), n = c0.size(1);
  const int64_t rec = weight_hh.size(0), proj = weight_proj.size(0);
  TORCH_CHECK(cell == Cell::plain || aux, "reslstm recurrence: ", kind, " needs aux");
  Tensor hs = pre.new_empty({steps, batch, proj});
  Tensor cs = pre.new_empty({steps, batch, n});
  Tensor acts = pre.new_empty({steps, batch, rec});
  Tensor buf1 = pre.new_empty({steps, batch, n});  // tanh c_t (plain, highway) / r_t
  Tensor buf2 = cell == Cell::highway    ? pre.new_empty({steps, batch, n})      // d_t
                : cell == Cell::residual ? pre.new_empty({steps, batch, proj})  // u_t
                                         : Tensor();
  Tensor h = h0, c = c0;
  for (int64_t t : steps_in_order(steps, reverse)) {
    const Tensor pre_t = pre[t];
    Tensor a = acts[t], h_out = hs[t], c_out = cs[t], b1 = buf1[t];
    memory_forward(w, n, pre_t, h, c, a, c_out);
    Tensor o = a.slice(1, 3 * n);
    if (cell == Cell::residual) {
      if (w.extra) o.addmm_(c_out, w.extra->t());  // o_t: + W_co c_t
      o.sigmoid_();                                // o_t
      Tensor r = at::tanh_out(b1, c_out);          // r_t = tanh(c_t)
      Tensor u = buf2[t];
      at::addmm_out(u, (*aux)[t], r, weight_proj.t());  // u_t = m_t + W_h x_t
      at::mul_out(h_out, o, u);  // h_t = o_t ⊙ (m_t + W_h x_t)
    } else {
      if (cell == Cell::highway) {
        // d_t = σ(W_xd x_t + w_ld ⊙ c_t^(l-1) + b_d [all in pre] + w_cd ⊙ c_(t-1))
        Tensor d = buf2[t];
        at::addcmul_out(d, pre_t.slice(1, rec), *w.extra, c).sigmoid_();
        c_out.addcmul_(d, (*aux)[t]);  // c_t += d_t ⊙ c_t^(l-1)
      }
      if (w.peephole) o.addcmul_(w.peephole->select(0, 2), c_out);  // o_t: + w_co ⊙ c_t
      o.sigmoid_();                                                   // o_t
      Tensor tc = at::tanh_out(b1, c_out);
      at::mm_out(h_out, o * tc, weight_proj.t());  // h_t = W_p m_t, m_t = o_t ⊙ tanh c_t
    }
    if (t >= min_len) {  // some sequences have ended: freeze their state
      const Tensor m = mask[t];
      at::where_out(h_out, m, h_out, h);
      at::where_out(c_out, m, c_out, c);
    }
    h = h_out;
    c = c_out;
  }
  std::vector<Tensor> out{hs, cs, acts, buf1};
  if (buf2.defined()) out.push_back(buf2);
  return out;
}

// The backward loop. ``saved``: [acts, coef, *]: plain [coef_o, coef_c], highway [coef_o,
// coef_c, d, coef_d], residual [coef_o, coef_r] (fused.py's Kernel.loop_factors). Returns
// [dpre, dh (dL/dh_t of each step), dL/dh0, dL/dc0] and, given the forward's ``aux``, dL/daux.
std::vector<Tensor> backward_loop(const std::string& kind, const std::optional<Tensor>& dhs,
                                  const std::optional<Tensor>& dcs, at::TensorList saved,
                                  const Tensor& weight_hh, const Tensor& weight_proj,
                                  const std::optional<Tensor>& peephole,
                                  const std::optional<Tensor>& extra, const Tensor& mask,
                                  int64_t min_len, bool reverse, int64_t pre_gates,
                                  const std::optional<Tensor>& aux) {
  const Cell cell = parse_cell(kind);
  const Weights w{weight_hh, weight_proj, peephole, extra};
  const Tensor &acts = saved[0], &coef = saved[1], &coef_o = saved[2], &coef_c = saved[3];
  const int64_t steps = acts.size(0), batch = acts.size(1), n = coef.size(3);
  const int64_t rec = weight_hh.size(0), proj = weight_proj.size(0);
  Tensor dpre = acts.new_empty({steps, batch, pre_gates});
  Tensor dh_seq = acts.new_empty({steps, batch, proj});
  Tensor daux = aux ? at::empty_like(*aux) : Tensor();
  const Tensor keep_all = mask.to(acts.scalar_type());  // 1 on real frames, 0 on padding
  Tensor dh_rec = acts.new_zeros({batch, proj}), dc = acts.new_zeros({batch, n});
  for (int64_t t : steps_in_order(steps, !reverse)) {
    Tensor dh = dh_seq[t], dz = dpre[t], dzo = dz.slice(1, 3 * n, rec);
    const Tensor a = acts[t];
    if (dhs) {  // dL/dh_t: from the output and from step t+1
      at::add_out(dh, dh_rec, (*dhs)[t]);
    } else {
      dh.copy_(dh_rec);
    }
    if (dcs) dc = dc + (*dcs)[t];
    const bool masked = t >= min_len;
    Tensor dh_keep, dc_keep;
    if (masked) {  // frozen rows pass their gradient straight to the previous state
      const Tensor keep = keep_all[t];
      dh_keep = dh - dh * keep;
      dc_keep = dc - dc * keep;
      dh.mul_(keep);
      dc = dc * keep;
    }
    Tensor dc_prev;
    if (cell == Cell::residual) {
      at::mul_out(dzo, dh, coef_o[t]);  // coef_o = u σ'(o)
      Tensor du = daux[t];
      at::mul_out(du, dh, a.slice(1, 3 * n));                   // dL/dm_t = dL/dW_h x_t
      dc = at::addcmul(dc, du.mm(weight_proj), coef_c[t]);      // coef_r = tanh'(c)
      if (w.extra) dc.addmm_(dzo, *w.extra);
      dc_prev = memory_backward(w, n, coef[t], a, dc, dz);
    } else {
      Tensor dm = dh.mm(weight_proj);  // h_t = W_p m_t
      at::mul_out(dzo, dm, coef_o[t]);      // coef_o = tanh(c) σ'(o)
      dc = at::addcmul(dc, dm, coef_c[t]);  // coef_c = o tanh'(c)
      if (w.peephole) dc.addcmul_(dzo, w.peephole->select(0, 2));  // o_t's peephole reads c_t
      dc_prev = memory_backward(w, n, coef[t], a, dc, dz);
      if (cell == Cell::highway) {  // c_t += d_t ⊙ c_t^(l-1)
        const Tensor &depth = saved[4], &coef_d = saved[5];
        Tensor daux_t = daux[t], dzd = dz.slice(1, rec);
        at::mul_out(daux_t, dc, depth[t]);  // dL/dc_t^(l-1)
        at::mul_out(dzd, dc, coef_d[t]);    // coef_d = c^(l-1) σ'(d)
        dc_prev.addcmul_(dzd, *w.extra);
      }
    }
    dc = dc_prev;
    dh_rec = dz.slice(1, 0, rec).mm(weight_hh);  // through W_h h_(t-1)
    if (masked) {
      dh_rec.add_(dh_keep);
      dc = dc + dc_keep;
    }
  }
  std::vector<Tensor> out{dpre, dh_seq, dh_rec, dc};
  if (aux) out.push_back(daux);
  return out;
}

}  // namespace

TORCH_LIBRARY(reslstm, m) {
  m.def(
      "forward_loop(str kind, Tensor pre, Tensor? aux, Tensor h0, Tensor c0, Tensor weight_hh, "
      "Tensor weight_proj, Tensor? peephole, Tensor? extra, Tensor mask, int min_len, "
      "bool reverse) -> Tensor[]",
      &forward_loop);
  m.def(
      "backward_loop(str kind, Tensor? dhs, Tensor? dcs, Tensor[] saved, Tensor weight_hh, "
      "Tensor weight_proj, Tensor? peephole, Tensor? extra, Tensor mask, int min_len, "
      "bool reverse, int pre_gates, Tensor? aux) -> Tensor[]",
      &backward_loop);
}
