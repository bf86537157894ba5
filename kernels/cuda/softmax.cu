// softmax over the last axis: exp(x - max) * (1 / sum exp(x - max)), accumulated in float for
// every T (MLX's precise=True; MLX accumulates float16/bfloat16 in T otherwise). Two passes
// rather than MLX's online normaliser, so a row with +inf or NaN gives NaN as the golden does.
#include "exp_sum.cuh"

namespace mlxport {

struct Softmax : ExpSum<false> {
  static constexpr bool kPerRow = false;
  __device__ float stat1(float total, int) const { return 1.0f / total; }
  template <typename U>
  __device__ U apply(float x, long long, float max, float inv_sum) const {
    return from_float<U>(expf(x - max) * inv_sum);
  }
};

}  // namespace mlxport

template <typename T>
__global__ void softmax(const T* x, T* out, int n) {
  mlxport::row_reduce(mlxport::Softmax{}, x, out, n);
}
