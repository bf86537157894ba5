// fast.rope: rotate feature pairs of each (batch, head, t) row of a contiguous (B, H, T, D)
// array by theta = (scale * float(t + offset[b])) * inv_freq(i), all in float as MLX's CUDA
// kernel does: inv_freq = exp2(-(i / half) * log2(base)), or 1 / freqs[i] when use_freqs.
// Pairs are (2i, 2i + 1) when traditional, else (i, i + half). One thread per pair, a 1-d grid;
// the features past 2 * half are not touched (the host copies them).
#include "common.cuh"

template <typename T, bool kTraditional>
__global__ void rope(const T* x, T* out, const int* offset, long long offset_stride,
                     const float* freqs, int use_freqs, float scale, float log2_base, int half,
                     int seq_len, int dim, long long rows_per_batch, long long n_pairs) {
  const long long index = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (index >= n_pairs) {
    return;
  }
  const int i = static_cast<int>(index % half);
  const long long row = index / half;
  const int t = static_cast<int>(row % seq_len);
  const long long batch = row / rows_per_batch;
  const float position = scale * static_cast<float>(t + offset[batch * offset_stride]);
  const float inv_freq = use_freqs
      ? 1.0f / freqs[i]
      : exp2f(-(static_cast<float>(i) / static_cast<float>(half)) * log2_base);
  const float theta = position * inv_freq;
  const float c = cosf(theta);
  const float s = sinf(theta);
  const long long first = row * dim + (kTraditional ? 2 * i : i);
  const long long second = first + (kTraditional ? 1 : half);
  const float x1 = mlxport::to_float(x[first]);
  const float x2 = mlxport::to_float(x[second]);
  out[first] = mlxport::from_float<T>(x1 * c - x2 * s);
  out[second] = mlxport::from_float<T>(x1 * s + x2 * c);
}
