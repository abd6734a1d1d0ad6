// The serial time loops of the fused recurrence (reslstm/models/fused.py), in C++.
//
// Each step is ATen's matrix products, σ and tanh, and a few elementwise blocks (below) that
// round every element exactly as the ATen operations they replace, so the numbers are bit for
// bit those of the Python loops of before (checked under ATen's AVX-512, AVX2 and generic
// kernels); what goes away is the interpreter and ~15 small ATen calls per step.
// The backward blocks also form the chain-rule factors known from the forward (σ', tanh' and
// the products they are multiplied with) from the kept activations, step by step.
// Whole-sequence work (buffers' shapes, every weight gradient) stays in fused.py.
// Both loops run below autograd (``at::AutoDispatchBelowADInplaceOrView``): fused.py's
// autograd.Function calls them and owns the graph, and they write only buffers they allocate
// themselves, so their ATen calls skip the dispatcher's autograd and view-tracking layers
// (the same kernels, so the same numbers, with less work per call).
// Equations: paper.md (Kim, El-Khamy & Lee 2017), the same names as in cells.py.
//
// Layout: time-major [T, B, *]; gate rows i, f, g, o (then the highway depth gate d);
// n = cell size. ``mask`` [T, B, 1] is true on real frames; from ``min_len`` on, a sequence
// past its length keeps its state (forward) and passes its gradient straight through
// (backward).

#include <ATen/ATen.h>
#include <torch/library.h>

#include <cmath>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using at::Tensor;

enum class Cell { plain, highway, residual };

Cell parse_cell(const std::string& name) {
  if (name == "plain") return Cell::plain;
  if (name == "highway") return Cell::highway;
  if (name == "residual") return Cell::residual;
  TORCH_CHECK(false, "reslstm recurrence: unknown cell kind '", name, "'");
}

// The parameters read inside the loop (detached). ``extra``: highway w_cd, residual W_co.
struct Weights {
  Tensor hh;
  std::optional<Tensor> peephole, extra;
};

// Elementwise blocks. Each is one pass over [B, n] rows in plain C++ (``fast``: float/double
// CPU tensors on x86-64 where ATen runs its AVX2 or AVX-512 kernels), else the ATen operations
// it stands for (any device, dtype or CPU). Both round every element the same way: a product is
// one rounding, and ``x + y ⊙ z`` (ATen's addcmul) is one fused multiply-add, as ATen's
// vectorised addcmul computes it; so the two are bitwise equal (tests/models/test_loops.py).
// σ and tanh are always ATen's.

// The rows of a [B, *] tensor whose rows are contiguous: row(b) points at row b's first element.
template <typename T>
struct Rows {
  T* p;
  int64_t stride;
  explicit Rows(const Tensor& x) : p(x.data_ptr<T>()), stride(x.stride(0)) {}
  T* row(int64_t b) const { return p + b * stride; }
};

template <typename T>
const T* data(const std::optional<Tensor>& x) {
  return x ? x->data_ptr<T>() : nullptr;
}

#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("fma")  // only run where ATen's own kernels use FMA (see fast_blocks)
#endif
namespace kernels {

// y ⊙ z + x with one rounding: ATen's addcmul.
template <typename T>
inline T addcmul(T x, T y, T z) {
  return std::fma(y, z, x);
}

// σ'(z) written with y = σ(z): y - y², two roundings, as ATen's ``y - y * y``.
template <typename T>
inline T dsigmoid(T y) {
  return y - y * y;
}

// tanh'(z) written with y = tanh(z): 1 - y², as ATen's ``1 - y * y``.
template <typename T>
inline T dtanh(T y) {
  return T(1) - y * y;
}

// Each block runs row by row. A row's inner loop has no branch (the options are template
// arguments) and its pointers are declared not to overlap (``restrict``: each one that is read
// or written is a different tensor or a different column range of one row; those of an option
// that is off stand in for others and are never dereferenced), so the compiler vectorises it.
// Vector lanes compute every element with the same operations in the same order as scalar code
// (products, differences and fused multiply-adds are each rounded once, contraction is off),
// so the numbers are those of the scalar loops.
#define RESTRICT __restrict__

// Calls f(std::bool_constant<x>{}): a runtime option as a template argument.
template <typename F>
void with_option(bool x, F f) {
  if (x) {
    f(std::true_type{});
  } else {
    f(std::false_type{});
  }
}

// Calls f(std::bool_constant<x>{}, std::bool_constant<y>{}).
template <typename F>
void with_options(bool x, bool y, F f) {
  with_option(x, [&](auto first) { with_option(y, [&](auto second) { f(first, second); }); });
}

template <typename T, bool kPeep, bool kDepth>
void peepholes_row(int64_t n, T* RESTRICT ai, T* RESTRICT af, const T* RESTRICT c,
                   const T* RESTRICT wci, const T* RESTRICT wcf, T* RESTRICT d,
                   const T* RESTRICT pre_d, const T* RESTRICT wcd) {
  for (int64_t j = 0; j < n; ++j) {
    const T cj = c[j];
    if constexpr (kPeep) {
      ai[j] = addcmul(ai[j], wci[j], cj);
      af[j] = addcmul(af[j], wcf[j], cj);
    }
    if constexpr (kDepth) d[j] = addcmul(pre_d[j], wcd[j], cj);
  }
}

template <typename T>
void peepholes_in(int64_t batch, int64_t n, Rows<T> a, Rows<T> c, const T* wc, Rows<T> d,
                  Rows<T> pre_d, const T* wcd) {
  with_options(wc != nullptr, wcd != nullptr, [&](auto peep, auto depth) {
    for (int64_t b = 0; b < batch; ++b) {
      T* ab = a.row(b);
      peepholes_row<T, decltype(peep)::value, decltype(depth)::value>(n, ab, ab + n, c.row(b), wc, wc ? wc + n : nullptr,
                                    d.row(b), pre_d.row(b), wcd);
    }
  });
}

template <typename T, bool kCarry, bool kOutPeep>
void cell_update_row(int64_t n, T* RESTRICT c_out, T* RESTRICT ao, const T* RESTRICT ai,
                     const T* RESTRICT af, const T* RESTRICT ag, const T* RESTRICT c,
                     const T* RESTRICT d, const T* RESTRICT lower, const T* RESTRICT wco) {
  for (int64_t j = 0; j < n; ++j) {
    T ct = addcmul(af[j] * c[j], ai[j], ag[j]);                  // f c + i g
    if constexpr (kCarry) ct = addcmul(ct, d[j], lower[j]);      // + d c^(l-1)
    c_out[j] = ct;
    if constexpr (kOutPeep) ao[j] = addcmul(ao[j], wco[j], ct);  // o += w_co c
  }
}

template <typename T>
void cell_update(int64_t batch, int64_t n, Rows<T> c_out, Rows<T> a, Rows<T> c, Rows<T> d,
                 Rows<T> lower, bool carry, const T* wco) {
  with_options(carry, wco != nullptr, [&](auto carry_on, auto out_peep) {
    for (int64_t b = 0; b < batch; ++b) {
      T* ab = a.row(b);
      cell_update_row<T, decltype(carry_on)::value, decltype(out_peep)::value>(n, c_out.row(b), ab + 3 * n, ab, ab + n,
                                             ab + 2 * n, c.row(b), d.row(b), lower.row(b), wco);
    }
  });
}

template <typename T>
void product_row(int64_t n, T* RESTRICT out, const T* RESTRICT x, const T* RESTRICT y) {
  for (int64_t j = 0; j < n; ++j) out[j] = x[j] * y[j];
}

template <typename T>
void product(int64_t batch, int64_t n, Rows<T> out, Rows<T> x, Rows<T> y) {
  for (int64_t b = 0; b < batch; ++b) product_row<T>(n, out.row(b), x.row(b), y.row(b));
}

template <typename T>
void residual_output_row(int64_t width, T* RESTRICT dzo, T* RESTRICT du, const T* RESTRICT dh,
                         const T* RESTRICT u, const T* RESTRICT o) {
  for (int64_t j = 0; j < width; ++j) {
    dzo[j] = dh[j] * (u[j] * dsigmoid(o[j]));
    du[j] = dh[j] * o[j];
  }
}

// o_t is the gate row after i, f, g (3n columns), as wide as h_t (``width``).
template <typename T>
void residual_output_backward(int64_t batch, int64_t n, int64_t width, Rows<T> dzo, Rows<T> du,
                              Rows<T> dh, Rows<T> u, Rows<T> a) {
  for (int64_t b = 0; b < batch; ++b) {
    residual_output_row<T>(width, dzo.row(b), du.row(b), dh.row(b), u.row(b),
                           a.row(b) + 3 * n);
  }
}

template <typename T>
void tanh_backward_row(int64_t n, T* RESTRICT dc_out, const T* RESTRICT dc,
                       const T* RESTRICT dr, const T* RESTRICT r) {
  for (int64_t j = 0; j < n; ++j) dc_out[j] = addcmul(dc[j], dr[j], dtanh(r[j]));
}

template <typename T>
void tanh_backward(int64_t batch, int64_t n, Rows<T> dc_out, Rows<T> dc, Rows<T> dr,
                   Rows<T> r) {
  for (int64_t b = 0; b < batch; ++b)
    tanh_backward_row<T>(n, dc_out.row(b), dc.row(b), dr.row(b), r.row(b));
}

template <typename T, bool kOutPeep>
void output_backward_row(int64_t n, T* RESTRICT dzo, T* RESTRICT dc_out, const T* RESTRICT dc,
                         const T* RESTRICT dm, const T* RESTRICT ao,
                         const T* RESTRICT tanh_c, const T* RESTRICT wco) {
  for (int64_t j = 0; j < n; ++j) {
    const T o = ao[j], tc = tanh_c[j];
    const T z = dm[j] * (tc * dsigmoid(o));
    T g = addcmul(dc[j], dm[j], o * dtanh(tc));
    if constexpr (kOutPeep) g = addcmul(g, z, wco[j]);
    dzo[j] = z;
    dc_out[j] = g;
  }
}

template <typename T>
void output_backward(int64_t batch, int64_t n, Rows<T> dzo, Rows<T> dc_out, Rows<T> dc,
                     Rows<T> dm, Rows<T> a, Rows<T> tanh_c, const T* wco) {
  with_option(wco != nullptr, [&](auto out_peep) {
    for (int64_t b = 0; b < batch; ++b) {
      output_backward_row<T, decltype(out_peep)::value>(n, dzo.row(b), dc_out.row(b), dc.row(b), dm.row(b),
                                       a.row(b) + 3 * n, tanh_c.row(b), wco);
    }
  });
}

template <typename T, bool kPeep, bool kDepth>
void memory_row(int64_t n, T* RESTRICT dzi, T* RESTRICT dzf, T* RESTRICT dzg, T* RESTRICT dzd,
                T* RESTRICT dc_prev, const T* RESTRICT dc, const T* RESTRICT ai,
                const T* RESTRICT af, const T* RESTRICT ag, const T* RESTRICT c_prev,
                const T* RESTRICT wci, const T* RESTRICT wcf, T* RESTRICT daux,
                const T* RESTRICT d, const T* RESTRICT lower, const T* RESTRICT wcd) {
  for (int64_t j = 0; j < n; ++j) {
    const T g = dc[j];
    const T i = ai[j], f = af[j], gg = ag[j];
    const T zi = g * (gg * dsigmoid(i)), zf = g * (c_prev[j] * dsigmoid(f));
    dzi[j] = zi;
    dzf[j] = zf;
    dzg[j] = g * (i * dtanh(gg));
    T p = g * f;  // through f_t ⊙ c_(t-1)
    if constexpr (kPeep) p = addcmul(addcmul(p, zi, wci[j]), zf, wcf[j]);  // w_ci, w_cf
    if constexpr (kDepth) {  // c_t += d_t ⊙ c_t^(l-1)
      const T dj = d[j];
      daux[j] = g * dj;
      const T zd = g * (lower[j] * dsigmoid(dj));
      dzd[j] = zd;
      p = addcmul(p, zd, wcd[j]);
    }
    dc_prev[j] = p;
  }
}

template <typename T>
void memory_backward(int64_t batch, int64_t n, int64_t rec, Rows<T> dz, Rows<T> dc_prev,
                     Rows<T> dc, Rows<T> a, Rows<T> c_prev, const T* wc, Rows<T> daux,
                     Rows<T> d, Rows<T> lower, const T* wcd) {
  with_options(wc != nullptr, wcd != nullptr, [&](auto peep, auto depth) {
    for (int64_t b = 0; b < batch; ++b) {
      T *dzb = dz.row(b), *ab = a.row(b);
      memory_row<T, decltype(peep)::value, decltype(depth)::value>(n, dzb, dzb + n, dzb + 2 * n, dzb + rec, dc_prev.row(b),
                                 dc.row(b), ab, ab + n, ab + 2 * n, c_prev.row(b), wc,
                                 wc ? wc + n : nullptr, daux.row(b), d.row(b), lower.row(b),
                                 wcd);
    }
  });
}

#undef RESTRICT
}  // namespace kernels
#if defined(__x86_64__)
#pragma GCC pop_options
#endif

// Whether the plain C++ blocks may run: x86-64, float/double on the CPU, and ATen's CPU kernels
// are its AVX2 or AVX-512 ones (``cpu_fma``, from Python; those need FMA and use it in addcmul).
bool fast_blocks(const Tensor& x, bool cpu_fma) {
#if defined(__x86_64__)
  return cpu_fma && x.is_cpu() &&
         (x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble);
#else
  return false;
#endif
}

// Runs f(T{}) with T the C++ type of x (float or double).
template <typename F>
void with_type(const Tensor& x, F f) {
  if (x.scalar_type() == at::kFloat) {
    f(float{});
  } else {
    f(double{});
  }
}

// i_t, f_t: + w_ci ⊙ c_(t-1), + w_cf ⊙ c_(t-1) into a's i, f columns; highway:
// d = (W_xd x_t + w_ld ⊙ c_t^(l-1) + b_d [pre's last n columns]) + w_cd ⊙ c_(t-1).
void peepholes_in(bool fast, int64_t n, const Weights& w, Tensor& a, const Tensor& c,
                  const Tensor& pre_d, Tensor& d) {
  if (!fast) {
    if (w.peephole) {
      a.slice(1, 0, 2 * n).unflatten(1, {2, n}).addcmul_(w.peephole->slice(0, 0, 2),
                                                           c.unsqueeze(1));
    }
    if (d.defined()) at::addcmul_out(d, pre_d, *w.extra, c);
    return;
  }
  with_type(a, [&](auto z) {
    using T = decltype(z);
    const bool carry = d.defined();
    kernels::peepholes_in<T>(a.size(0), n, Rows<T>(a), Rows<T>(c), data<T>(w.peephole),
                             Rows<T>(carry ? d : c), Rows<T>(carry ? pre_d : c),
                             carry ? w.extra->data_ptr<T>() : nullptr);
  });
}

// c_t = f_t ⊙ c_(t-1) + i_t ⊙ g_t; highway: c_t += d_t ⊙ c_t^(l-1); plain and highway
// peepholes: o_t (pre-activation) += w_co ⊙ c_t.
void cell_update(bool fast, int64_t n, const std::optional<Tensor>& w_co, Tensor& c_out,
                 Tensor& a, const Tensor& c, const Tensor& d, const Tensor& lower) {
  if (!fast) {
    at::mul_out(c_out, a.slice(1, n, 2 * n), c)
        .addcmul_(a.slice(1, 0, n), a.slice(1, 2 * n, 3 * n));
    if (d.defined()) c_out.addcmul_(d, lower);
    if (w_co) a.slice(1, 3 * n).addcmul_(*w_co, c_out);
    return;
  }
  with_type(a, [&](auto z) {
    using T = decltype(z);
    const bool carry = d.defined();
    kernels::cell_update<T>(a.size(0), n, Rows<T>(c_out), Rows<T>(a), Rows<T>(c),
                            Rows<T>(carry ? d : c), Rows<T>(carry ? lower : c), carry,
                            data<T>(w_co));
  });
}

// out = x ⊙ y.
void product(bool fast, Tensor& out, const Tensor& x, const Tensor& y) {
  if (!fast) {
    at::mul_out(out, x, y);
    return;
  }
  with_type(out, [&](auto z) {
    using T = decltype(z);
    kernels::product<T>(out.size(0), out.size(1), Rows<T>(out), Rows<T>(x), Rows<T>(y));
  });
}

// The chain-rule factors, as ATen operations (the plain C++ blocks compute them inline):
// σ'(z) = y - y² and tanh'(z) = 1 - y², written with y = σ(z) or tanh(z).
Tensor dsigmoid(const Tensor& y) { return y - y * y; }
Tensor dtanh(const Tensor& y) { return at::rsub(y * y, 1); }

// Residual: given dL/dh_t, dz_o = dh ⊙ (u σ'(o)) and dL/dm_t = dL/dW_h x_t = dh ⊙ o.
void residual_output_backward(bool fast, int64_t n, Tensor& dzo, Tensor& du, const Tensor& dh,
                              const Tensor& u, const Tensor& a) {
  if (!fast) {
    const Tensor o = a.slice(1, 3 * n);
    at::mul_out(dzo, dh, u * dsigmoid(o));
    at::mul_out(du, dh, o);
    return;
  }
  with_type(dh, [&](auto z) {
    using T = decltype(z);
    kernels::residual_output_backward<T>(dh.size(0), n, dh.size(1), Rows<T>(dzo), Rows<T>(du),
                                         Rows<T>(dh), Rows<T>(u), Rows<T>(a));
  });
}

// Residual: dc_out = dc + dr ⊙ tanh'(c), with r = tanh(c_t).
void tanh_backward(bool fast, Tensor& dc_out, const Tensor& dc, const Tensor& dr,
                   const Tensor& r) {
  if (!fast) {
    at::addcmul_out(dc_out, dc, dr, dtanh(r));
    return;
  }
  with_type(dc, [&](auto v) {
    using T = decltype(v);
    kernels::tanh_backward<T>(dc.size(0), dc.size(1), Rows<T>(dc_out), Rows<T>(dc), Rows<T>(dr),
                              Rows<T>(r));
  });
}

// Plain and highway: given dL/dm_t, dz_o = dm ⊙ (tanh(c) σ'(o)) and
// dc_out = dc + dm ⊙ (o tanh'(c)) [+ dz_o ⊙ w_co: o_t's peephole reads c_t].
void output_backward(bool fast, int64_t n, const std::optional<Tensor>& w_co, Tensor& dzo,
                     Tensor& dc_out, const Tensor& dc, const Tensor& dm, const Tensor& a,
                     const Tensor& tanh_c) {
  if (!fast) {
    const Tensor o = a.slice(1, 3 * n);
    at::mul_out(dzo, dm, tanh_c * dsigmoid(o));
    at::addcmul_out(dc_out, dc, dm, o * dtanh(tanh_c));
    if (w_co) dc_out.addcmul_(dzo, *w_co);
    return;
  }
  with_type(dc, [&](auto z) {
    using T = decltype(z);
    kernels::output_backward<T>(dc.size(0), n, Rows<T>(dzo), Rows<T>(dc_out), Rows<T>(dc),
                                Rows<T>(dm), Rows<T>(a), Rows<T>(tanh_c), data<T>(w_co));
  });
}

// Given dL/dc_t: dz_i = dc ⊙ (g σ'(i)), dz_f = dc ⊙ (c_(t-1) σ'(f)), dz_g = dc ⊙ (i tanh'(g))
// and dL/dc_(t-1) = dc ⊙ f_t [+ dz_i ⊙ w_ci + dz_f ⊙ w_cf]; highway: dL/dc_t^(l-1) = dc ⊙ d_t,
// dz_d = dc ⊙ (c^(l-1) σ'(d)), dL/dc_(t-1) += dz_d ⊙ w_cd.
void memory_backward(bool fast, int64_t n, const Weights& w, Tensor& dz, Tensor& dc_prev,
                     const Tensor& dc, const Tensor& a, const Tensor& c_prev, Tensor& daux,
                     const Tensor& d, const Tensor& lower) {
  const int64_t rec = w.hh.size(0);
  if (!fast) {
    const Tensor i = a.slice(1, 0, n), f = a.slice(1, n, 2 * n), g = a.slice(1, 2 * n, 3 * n);
    Tensor dzifg = dz.slice(1, 0, 3 * n).unflatten(1, {3, n});
    Tensor dzi = dzifg.select(1, 0), dzf = dzifg.select(1, 1), dzg = dzifg.select(1, 2);
    at::mul_out(dzi, dc, g * dsigmoid(i));
    at::mul_out(dzf, dc, c_prev * dsigmoid(f));
    at::mul_out(dzg, dc, i * dtanh(g));
    at::mul_out(dc_prev, dc, f);
    if (w.peephole) {
      dc_prev.addcmul_(dzi, w.peephole->select(0, 0)).addcmul_(dzf, w.peephole->select(0, 1));
    }
    if (d.defined()) {
      Tensor dzd = dz.slice(1, rec);
      at::mul_out(daux, dc, d);
      at::mul_out(dzd, dc, lower * dsigmoid(d));
      dc_prev.addcmul_(dzd, *w.extra);
    }
    return;
  }
  with_type(dc, [&](auto z) {
    using T = decltype(z);
    const bool carry = d.defined();
    kernels::memory_backward<T>(dc.size(0), n, rec, Rows<T>(dz), Rows<T>(dc_prev), Rows<T>(dc),
                                Rows<T>(a), Rows<T>(c_prev), data<T>(w.peephole),
                                Rows<T>(carry ? daux : dc), Rows<T>(carry ? d : dc),
                                Rows<T>(carry ? lower : dc),
                                carry ? w.extra->data_ptr<T>() : nullptr);
  });
}

// w_co, the diagonal output peephole of plain and highway cells (the residual cell has none).
std::optional<Tensor> output_peephole(Cell cell, const Weights& w) {
  if (cell == Cell::residual || !w.peephole) return std::nullopt;
  return w.peephole->select(0, 2);
}

std::optional<Tensor> contiguous(const std::optional<Tensor>& x) {
  return x ? std::optional<Tensor>(x->contiguous()) : std::nullopt;
}

std::vector<int64_t> steps_in_order(int64_t steps, bool reverse) {
  std::vector<int64_t> order(steps);
  for (int64_t k = 0; k < steps; ++k) order[k] = reverse ? steps - 1 - k : k;
  return order;
}

// The loop's matrix products x·W. ``low`` unset: in the loop's dtype (out= and in-place forms).
// ``low`` set (autocast's dtype: bf16 in training, on CUDA): x and W rounded to ``low``, the product
// rounded to it (accumulated in fp32 by cuBLAS and oneDNN), then added to or written into the
// fp32 buffers, so gates, the cell state c_t and h_t stay fp32; only the products are low.
struct Products {
  std::optional<at::ScalarType> low;

  // W as the products read it (converted once per sequence).
  Tensor weight(const Tensor& w) const { return low ? w.to(*low) : w; }
  // out += x·w
  void add(Tensor& out, const Tensor& x, const Tensor& w) const {
    if (low) {
      out.add_(at::mm(x.to(*low), w));
    } else {
      out.addmm_(x, w);
    }
  }
  // out = x·w
  void set(Tensor& out, const Tensor& x, const Tensor& w) const {
    if (low) {
      out.copy_(at::mm(x.to(*low), w));
    } else {
      at::mm_out(out, x, w);
    }
  }
  // x·w, a new tensor in x's dtype
  Tensor mm(const Tensor& x, const Tensor& w) const {
    return low ? at::mm(x.to(*low), w).to(x.scalar_type()) : x.mm(w);
  }
};

// The forward loop from (h0, c0). Returns [hs, cs, acts, *buffers]: plain [tanh c], highway
// [tanh c, d], residual [r, u] (u_t = m_t + W_h x_t), all [T, B, *], kept for the backward.
std::vector<Tensor> forward_loop(const std::string& kind, const Tensor& pre_in,
                                 const std::optional<Tensor>& aux_in, const Tensor& h0,
                                 const Tensor& c0, const Tensor& weight_hh,
                                 const Tensor& weight_proj,
                                 const std::optional<Tensor>& peephole,
                                 const std::optional<Tensor>& extra, const Tensor& mask,
                                 int64_t min_len, bool reverse, bool cpu_fma,
                                 std::optional<at::ScalarType> product_dtype) {
  const at::AutoDispatchBelowADInplaceOrView below_autograd;  // see the header
  const Cell cell = parse_cell(kind);
  const Products products{product_dtype};
  const Weights w{weight_hh, contiguous(peephole), contiguous(extra)};
  const Tensor pre = pre_in.contiguous();
  const std::optional<Tensor> aux = contiguous(aux_in);
  const bool fast = fast_blocks(pre, cpu_fma);
  const int64_t steps = pre.size(0), batch = pre.size(1), n = c0.size(1);
  const int64_t rec = weight_hh.size(0), proj = weight_proj.size(0);
  TORCH_CHECK(cell == Cell::plain || aux, "reslstm recurrence: ", kind, " needs aux");
  const std::optional<Tensor> w_co = output_peephole(cell, w);
  Tensor hs = pre.new_empty({steps, batch, proj});
  Tensor cs = pre.new_empty({steps, batch, n});
  // the input side W_x x + b of every step, copied once; each step adds W_h h_(t-1) in place
  Tensor acts = pre.slice(2, 0, rec).clone(at::MemoryFormat::Contiguous);
  Tensor buf1 = pre.new_empty({steps, batch, n});  // tanh c_t (plain, highway) / r_t
  Tensor buf2 = cell == Cell::highway ? pre.new_empty({steps, batch, n})  // d_t
                : cell == Cell::residual
                    ? aux->clone(at::MemoryFormat::Contiguous)  // u_t: W_h x_t, then + m_t
                    : Tensor();
  Tensor m = pre.new_empty({batch, n});  // m_t = o_t ⊙ tanh c_t (plain, highway)
  Tensor h = h0, c = c0.contiguous(), none;
  const Tensor w_hh_t = products.weight(weight_hh.t());
  const Tensor w_proj_t = products.weight(weight_proj.t());
  const Tensor weight_co_t =
      cell == Cell::residual && w.extra ? products.weight(w.extra->t()) : none;  // W_co
  for (int64_t t : steps_in_order(steps, reverse)) {
    Tensor a = acts[t], h_out = hs[t], c_out = cs[t], b1 = buf1[t];
    Tensor d = cell == Cell::highway ? buf2[t] : none;
    const Tensor lower = cell == Cell::highway ? (*aux)[t] : none;
    products.add(a, h, w_hh_t);  // W_x x + b + W_h h_(t-1)
    peepholes_in(fast, n, w, a, c, d.defined() ? pre[t].slice(1, rec) : none, d);
    a.slice(1, 0, 2 * n).sigmoid_();   // i_t, f_t = σ(...)
    a.slice(1, 2 * n, 3 * n).tanh_();  // g_t = tanh(...)
    if (d.defined()) d.sigmoid_();     // d_t = σ(...)
    cell_update(fast, n, w_co, c_out, a, c, d, lower);  // c_t (highway: + d_t ⊙ c_t^(l-1))
    Tensor o = a.slice(1, 3 * n);
    if (cell == Cell::residual) {
      if (weight_co_t.defined()) products.add(o, c_out, weight_co_t);  // o_t: + W_co c_t
      o.sigmoid_();                        // o_t
      Tensor r = at::tanh_out(b1, c_out);  // r_t = tanh(c_t)
      Tensor u = buf2[t];
      products.add(u, r, w_proj_t);  // u_t = m_t + W_h x_t
      product(fast, h_out, o, u);    // h_t = o_t ⊙ (m_t + W_h x_t)
    } else {
      o.sigmoid_();  // o_t
      Tensor tc = at::tanh_out(b1, c_out);
      product(fast, m, o, tc);           // m_t = o_t ⊙ tanh c_t
      products.set(h_out, m, w_proj_t);  // h_t = W_p m_t
    }
    if (t >= min_len) {  // some sequences have ended: freeze their state
      const Tensor keep = mask[t];
      at::where_out(h_out, keep, h_out, h);
      at::where_out(c_out, keep, c_out, c);
    }
    h = h_out;
    c = c_out;
  }
  std::vector<Tensor> out{hs, cs, acts, buf1};
  if (buf2.defined()) out.push_back(buf2);
  return out;
}

// The backward loop, from what the forward loop kept: ``acts``, its ``buffers`` (see
// forward_loop) and ``c_prev`` (c_(t-1) of each step). Returns [dpre, dh (dL/dh_t of each
// step), dL/dh0, dL/dc0] and, given the forward's ``aux``, dL/daux.
std::vector<Tensor> backward_loop(const std::string& kind, const std::optional<Tensor>& dhs_in,
                                  const std::optional<Tensor>& dcs_in, const Tensor& acts_in,
                                  at::TensorList buffers_in, const Tensor& c_prev_in,
                                  const Tensor& weight_hh, const Tensor& weight_proj,
                                  const std::optional<Tensor>& peephole,
                                  const std::optional<Tensor>& extra, const Tensor& mask,
                                  int64_t min_len, bool reverse, int64_t pre_gates,
                                  const std::optional<Tensor>& aux_in, bool cpu_fma,
                                  std::optional<at::ScalarType> product_dtype) {
  const at::AutoDispatchBelowADInplaceOrView below_autograd;  // see the header
  const Cell cell = parse_cell(kind);
  const Products products{product_dtype};
  const Weights w{weight_hh, contiguous(peephole), contiguous(extra)};
  const std::optional<Tensor> dhs = contiguous(dhs_in), dcs = contiguous(dcs_in);
  const std::optional<Tensor> aux = contiguous(aux_in);
  const Tensor acts = acts_in.contiguous(), c_prev = c_prev_in.contiguous();
  std::vector<Tensor> buffers;
  for (const Tensor& x : buffers_in) buffers.push_back(x.contiguous());
  const bool fast = fast_blocks(acts, cpu_fma);
  const int64_t steps = acts.size(0), batch = acts.size(1), n = c_prev.size(2);
  const int64_t rec = weight_hh.size(0), proj = weight_proj.size(0);
  const std::optional<Tensor> w_co = output_peephole(cell, w);
  const Tensor w_hh = products.weight(weight_hh), w_proj = products.weight(weight_proj), none;
  const Tensor weight_co = cell == Cell::residual && w.extra ? products.weight(*w.extra) : none;
  Tensor dpre = acts.new_empty({steps, batch, pre_gates});
  Tensor dh_seq = acts.new_empty({steps, batch, proj});
  Tensor daux = aux ? acts.new_empty(aux->sizes()) : Tensor();
  const Tensor keep_all = mask.to(acts.scalar_type());  // 1 on real frames, 0 on padding
  Tensor dh_rec = acts.new_zeros({batch, proj}), dc = acts.new_zeros({batch, n});
  Tensor dm = acts.new_empty({batch, n}), dc_out = acts.new_empty({batch, n});
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
    Tensor daux_t = cell == Cell::highway ? daux[t] : none;
    if (cell == Cell::residual) {
      Tensor du = daux[t];
      residual_output_backward(fast, n, dzo, du, dh, buffers[1][t], a);  // dz_o, dL/dm_t
      products.set(dm, du, w_proj);                        // dL/dr_t (m_t = W_p r_t)
      tanh_backward(fast, dc_out, dc, dm, buffers[0][t]);  // + dr ⊙ tanh'(c)
      if (weight_co.defined()) products.add(dc_out, dzo, weight_co);  // o_t: + W_co c_t
    } else {
      products.set(dm, dh, w_proj);  // dL/dm_t (h_t = W_p m_t)
      output_backward(fast, n, w_co, dzo, dc_out, dc, dm, a, buffers[0][t]);
    }
    Tensor dc_prev = acts.new_empty({batch, n});
    memory_backward(fast, n, w, dz, dc_prev, dc_out, a, c_prev[t], daux_t,
                    cell == Cell::highway ? buffers[1][t] : none,
                    cell == Cell::highway ? (*aux)[t] : none);
    dc = dc_prev;
    dh_rec = products.mm(dz.slice(1, 0, rec), w_hh);  // through W_h h_(t-1)
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
      "bool reverse, bool cpu_fma, ScalarType? product_dtype) -> Tensor[]",
      &forward_loop);
  m.def(
      "backward_loop(str kind, Tensor? dhs, Tensor? dcs, Tensor acts, Tensor[] buffers, "
      "Tensor c_prev, Tensor weight_hh, "
      "Tensor weight_proj, Tensor? peephole, Tensor? extra, Tensor mask, int min_len, "
      "bool reverse, int pre_gates, Tensor? aux, bool cpu_fma, ScalarType? product_dtype) "
      "-> Tensor[]",
      &backward_loop);
}
