// logsumexp over the last axis: log(sum exp(x - m)) + m, m the row max when finite, else 0
// (all -inf gives -inf; a +inf gives +inf, or NaN beside a NaN), as the golden defines it.
#include "exp_sum.cuh"

namespace mlxport {

struct LogSumExp : ExpSum<true> {
  static constexpr bool kPerRow = true;
  __device__ float stat1(float total, int) const { return total; }
  __device__ float row_value(float shift, float sum) const { return logf(sum) + shift; }
};

}  // namespace mlxport

template <typename T>
__global__ void logsumexp(const T* x, T* out, int n) {
  mlxport::row_reduce(mlxport::LogSumExp{}, x, out, n);
}
