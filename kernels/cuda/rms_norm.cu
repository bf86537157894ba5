// fast.rms_norm: y = w * T(x / sqrt(mean(x^2) + eps)), as MLX's CUDA kernel rounds: the
// normalised value is rounded to T before the weight multiplies it.
#include "row_reduce.cuh"

namespace mlxport {

template <typename T>
struct RmsNorm {
  const T* w;
  long long w_stride;  // 0: one weight for all (no weight given: a single 1)
  float eps;
  static constexpr int kPasses = 1;
  static constexpr bool kPerRow = false;
  using Reduce0 = Sum;
  __device__ float term0(float x) const { return x * x; }
  __device__ float stat0(float total, int n) const {
    return 1.0f / sqrtf(total / static_cast<float>(n) + eps);
  }
  template <typename U>
  __device__ U apply(float x, long long i, float inv_rms, float) const {
    return from_float<U>(to_float(w[i * w_stride]) * round_to<U>(x * inv_rms));
  }
};

}  // namespace mlxport

template <typename T>
__global__ void rms_norm(const T* x, const T* w, T* out, int n, long long w_stride, float eps) {
  mlxport::row_reduce(mlxport::RmsNorm<T>{w, w_stride, eps}, x, out, n);
}
