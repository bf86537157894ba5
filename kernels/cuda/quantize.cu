// quantize (affine): one warp per group of group_size (32, 64 or 128) consecutive elements;
// lane l holds elements [l * k, (l + 1) * k), k = group_size / 32. Scale and bias follow MLX's
// CPU quantizer (the golden) in float: the endpoint of larger magnitude is stored exactly as the
// bias, with code 0, and the scale is edge / round(edge / scale) so that 0 is on the grid.
// (MLX's CUDA kernel starts the max at 0 and rounds ties away from zero; this one does not.)
// Block: (32, kWarps), one group per warp.
#include "affine.cuh"

namespace mlxport {
constexpr int kQuantWarps = 4;
constexpr int kMaxGroup = 128;
}  // namespace mlxport

template <typename T, int BITS>
__global__ void affine_quantize(const T* w, unsigned int* wq, T* scales, T* biases,
                                int group_size, long long n_groups) {
  using Packing = mlxport::Affine<BITS>;
  using mlxport::Max;
  using mlxport::Min;
  __shared__ unsigned char codes[mlxport::kQuantWarps][mlxport::kMaxGroup];
  const long long group = static_cast<long long>(blockIdx.x) * blockDim.y + threadIdx.y;
  if (group >= n_groups) {
    return;  // the whole warp: a group is one warp
  }
  const int lane = threadIdx.x;
  const int per_lane = group_size / 32;
  float v[mlxport::kMaxGroup / 32];
  float lo = Min::identity();
  float hi = Max::identity();
#pragma unroll
  for (int j = 0; j < mlxport::kMaxGroup / 32; ++j) {
    if (j < per_lane) {
      v[j] = mlxport::to_float(w[group * group_size + lane * per_lane + j]);
      lo = Min::apply(lo, v[j]);
      hi = Max::apply(hi, v[j]);
    }
  }
  lo = mlxport::warp_reduce<Min>(lo);
  hi = mlxport::warp_reduce<Max>(hi);

  const bool use_min = fabsf(lo) > fabsf(hi);
  const float step = fmaxf((hi - lo) / Packing::kMaxCode, 1e-7f);
  const float edge = use_min ? lo : hi;
  float scale = use_min ? step : -step;
  const float q0 = rintf(edge / scale);
  const float bias = q0 != 0.0f ? edge : 0.0f;
  scale = q0 != 0.0f ? edge / q0 : scale;

  unsigned char* mine = codes[threadIdx.y];
#pragma unroll
  for (int j = 0; j < mlxport::kMaxGroup / 32; ++j) {
    if (j < per_lane) {
      const float q = fminf(fmaxf(rintf((v[j] - bias) / scale), 0.0f), Packing::kMaxCode);
      mine[lane * per_lane + j] = static_cast<unsigned char>(q);
    }
  }
  __syncwarp();
  const int words = group_size / Packing::kPerWord;
  if (lane < words) {
    unsigned int word = 0;
#pragma unroll
    for (int j = 0; j < Packing::kPerWord; ++j) {
      word |= Packing::place(mine[lane * Packing::kPerWord + j], j);
    }
    wq[group * words + lane] = word;
  }
  if (lane == 0) {
    scales[group] = mlxport::from_float<T>(scale);
    biases[group] = mlxport::from_float<T>(bias);
  }
}
