// The two passes softmax and logsumexp share: the row max, then sum exp(x - shift), where the
// shift is the max, or (kFiniteShift) the max when finite and else 0.
#pragma once

#include "row_reduce.cuh"

namespace mlxport {

template <bool kFiniteShift>
struct ExpSum {
  static constexpr int kPasses = 2;
  using Reduce0 = Max;
  using Reduce1 = Sum;
  __device__ float term0(float x) const { return x; }
  __device__ float stat0(float max, int) const {
    return kFiniteShift && !isfinite(max) ? 0.0f : max;
  }
  __device__ float term1(float x, float shift) const { return expf(x - shift); }
};

}  // namespace mlxport
