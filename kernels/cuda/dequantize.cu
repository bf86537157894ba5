// dequantize (affine): one thread per packed word, writing its 32/BITS values code*scale + bias
// in float, rounded once to T (the scales' dtype). Any row length that is a multiple of the
// group size; the group size is a runtime value.
#include "affine.cuh"

template <typename T, int BITS>
__global__ void affine_dequantize(const unsigned int* wq, const T* scales, const T* biases,
                                  T* out, int group_size, long long n_words) {
  using Packing = mlxport::Affine<BITS>;
  const long long word = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (word >= n_words) {
    return;
  }
  const long long first = word * Packing::kPerWord;
  const long long group = first / group_size;  // a group never splits a word
  const float scale = mlxport::to_float(scales[group]);
  const float bias = mlxport::to_float(biases[group]);
  const unsigned int bits = wq[word];
#pragma unroll
  for (int j = 0; j < Packing::kPerWord; ++j) {
    out[first + j] = mlxport::from_float<T>(Packing::value(Packing::code(bits, j), scale, bias));
  }
}
