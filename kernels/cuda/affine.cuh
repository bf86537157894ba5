// MLX's affine packing: each row of codes is a little-endian bit stream read as uint32 words;
// with BITS dividing 32, word w holds codes 32/BITS * w + j at bits [BITS * j, BITS * (j+1)).
// One scale and one bias per group of consecutive elements of a row; value = code*scale + bias.
#pragma once

#include "common.cuh"

namespace mlxport {

template <int BITS>
struct Affine {
  static_assert(32 % BITS == 0, "codes must not straddle words");
  static constexpr int kPerWord = 32 / BITS;
  static constexpr unsigned int kMask = (1u << BITS) - 1u;
  static constexpr float kMaxCode = static_cast<float>(kMask);

  __device__ static float code(unsigned int word, int j) {
    return static_cast<float>((word >> (BITS * j)) & kMask);
  }
  __device__ static unsigned int place(unsigned int code, int j) { return code << (BITS * j); }
  __device__ static float value(float code, float scale, float bias) { return code * scale + bias; }
};

}  // namespace mlxport
