// quantized_matmul (affine): out = x @ dequantize(w).T (qmm_t) or x @ dequantize(w) (qmm_n),
// x (M, K) row-major in T, accumulated in float, rounded once to T.
//
// qmm_t, w (N, K / per_word): one warp per output (m, n); block (32, kQmmWarps), a 1-d grid of
// M * ceil(N / kQmmWarps) blocks. Lane l takes words l, l + 32, ... of row n; per word it sums
// x * code and x over the word's codes, then adds scale * sum_xq + bias * sum_x (the group's
// scale and bias), and the lanes' sums meet in a warp butterfly.
//
// qmm_n, w (K, N / per_word): one thread per (m, word column c), the per_word outputs
// n = c * per_word + j; it walks k = 0 .. K - 1 in order, adding x[m, k] * (code * scale + bias).
#include "affine.cuh"

namespace mlxport {
constexpr int kQmmWarps = 4;
}  // namespace mlxport

template <typename T, int BITS>
__global__ void qmm_t(const T* x, const unsigned int* wq, const T* scales, const T* biases,
                      T* out, int n_cols, int k, int group_size) {
  using Packing = mlxport::Affine<BITS>;
  const long long n_blocks = (n_cols + mlxport::kQmmWarps - 1) / mlxport::kQmmWarps;
  const long long m = blockIdx.x / n_blocks;
  const int n = static_cast<int>(blockIdx.x % n_blocks) * mlxport::kQmmWarps + threadIdx.y;
  if (n >= n_cols) {
    return;  // the whole warp
  }
  const int words = k / Packing::kPerWord;
  const int groups = k / group_size;
  const T* xm = x + m * k;
  float acc = 0.0f;
  for (int w = threadIdx.x; w < words; w += 32) {
    const unsigned int bits = wq[static_cast<long long>(n) * words + w];
    const int k0 = w * Packing::kPerWord;
    const long long g = static_cast<long long>(n) * groups + k0 / group_size;
    float sum_xq = 0.0f;
    float sum_x = 0.0f;
#pragma unroll
    for (int j = 0; j < Packing::kPerWord; ++j) {
      const float xv = mlxport::to_float(xm[k0 + j]);
      sum_xq = sum_xq + xv * Packing::code(bits, j);
      sum_x = sum_x + xv;
    }
    acc = acc + (mlxport::to_float(scales[g]) * sum_xq + mlxport::to_float(biases[g]) * sum_x);
  }
  acc = mlxport::warp_reduce<mlxport::Sum>(acc);
  if (threadIdx.x == 0) {
    out[m * n_cols + n] = mlxport::from_float<T>(acc);
  }
}

template <typename T, int BITS>
__global__ void qmm_n(const T* x, const unsigned int* wq, const T* scales, const T* biases,
                      T* out, int n_cols, int k, int group_size, long long n_threads) {
  using Packing = mlxport::Affine<BITS>;
  const long long index = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (index >= n_threads) {
    return;
  }
  const int words = n_cols / Packing::kPerWord;
  const int groups = n_cols / group_size;
  const long long m = index / words;
  const int c = static_cast<int>(index % words);
  const int g = c * Packing::kPerWord / group_size;  // a group never splits a word
  float acc[Packing::kPerWord] = {};
  for (int kk = 0; kk < k; ++kk) {
    const float xv = mlxport::to_float(x[m * k + kk]);
    const unsigned int bits = wq[static_cast<long long>(kk) * words + c];
    const float scale = mlxport::to_float(scales[static_cast<long long>(kk) * groups + g]);
    const float bias = mlxport::to_float(biases[static_cast<long long>(kk) * groups + g]);
#pragma unroll
    for (int j = 0; j < Packing::kPerWord; ++j) {
      acc[j] = acc[j] + xv * Packing::value(Packing::code(bits, j), scale, bias);
    }
  }
#pragma unroll
  for (int j = 0; j < Packing::kPerWord; ++j) {
    out[m * n_cols + c * Packing::kPerWord + j] = mlxport::from_float<T>(acc[j]);
  }
}
