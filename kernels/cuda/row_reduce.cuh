// The launcher of every "one block per row" op: rms_norm, layer_norm, softmax, logsumexp.
// It is written once; an op is a small functor that says what each pass reduces and what
// each element (or the row) becomes:
//
//   kPasses (1 or 2), kPerRow (one output per row instead of one per element)
//   using Reduce0 = Sum|Max;  float term0(float x);          float stat0(float total, int n);
//   using Reduce1 = Sum|Max;  float term1(float x, float s0); float stat1(float total, int n);
//   T apply<T>(float x, long long i, float s0, float s1)   or   float row_value(float s0, float s1)
//
// A pass: thread t accumulates term(x[i]) for i = t, t + blockDim.x, ... in order, in float;
// then block_reduce. Grid: one block per row; block: a multiple of 32 chosen by the host.
#pragma once

#include "common.cuh"

namespace mlxport {

template <typename Reduce, typename T, typename Term>
__device__ inline float row_pass(const T* x, int n, float* scratch, const Term& term) {
  float acc = Reduce::identity();
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    acc = Reduce::apply(acc, term(to_float(x[i])));
  }
  return block_reduce<Reduce>(acc, scratch);
}

template <typename T, typename Op>
__device__ inline void row_reduce(const Op& op, const T* x, T* out, int n) {
  __shared__ float scratch[32];
  x += static_cast<long long>(blockIdx.x) * n;
  const float s0 = op.stat0(
      row_pass<typename Op::Reduce0>(x, n, scratch, [&](float v) { return op.term0(v); }), n);
  float s1 = 0.0f;
  if constexpr (Op::kPasses > 1) {
    s1 = op.stat1(
        row_pass<typename Op::Reduce1>(x, n, scratch, [&](float v) { return op.term1(v, s0); }),
        n);
  }
  if constexpr (Op::kPerRow) {
    if (threadIdx.x == 0) {
      out[blockIdx.x] = from_float<T>(op.row_value(s0, s1));
    }
  } else {
    out += static_cast<long long>(blockIdx.x) * n;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
      out[i] = op.template apply<T>(to_float(x[i]), i, s0, s1);
    }
  }
}

}  // namespace mlxport
