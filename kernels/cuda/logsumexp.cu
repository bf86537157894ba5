// logsumexp over the last axis: log(sum exp(x - m)) + m, m the row max when finite, else 0
// (all -inf gives -inf; a +inf gives +inf, or NaN beside a NaN), as the golden defines it.
#include "row_reduce.cuh"

namespace mlxport {

struct LogSumExp {
  static constexpr int kPasses = 2;
  static constexpr bool kPerRow = true;
  using Reduce0 = Max;
  using Reduce1 = Sum;
  __device__ float term0(float x) const { return x; }
  __device__ float stat0(float total, int) const { return isfinite(total) ? total : 0.0f; }
  __device__ float term1(float x, float shift) const { return expf(x - shift); }
  __device__ float stat1(float total, int) const { return total; }
  __device__ float row_value(float shift, float sum) const { return logf(sum) + shift; }
};

}  // namespace mlxport

template <typename T>
__global__ void logsumexp(const T* x, T* out, int n) {
  mlxport::row_reduce(mlxport::LogSumExp{}, x, out, n);
}
