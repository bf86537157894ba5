// Shared device helpers: dtype conversion and the warp/block reductions every kernel uses.
// Kernels compute in float whatever T is (float, __half, __nv_bfloat16); T is only storage.
// Built with --fmad=false, so a*b+c is two roundings, as the numpy transcription assumes.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace mlxport {

__device__ inline float to_float(float x) { return x; }
__device__ inline float to_float(__half x) { return __half2float(x); }
__device__ inline float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T>
__device__ inline T from_float(float x);
template <>
__device__ inline float from_float<float>(float x) { return x; }
template <>
__device__ inline __half from_float<__half>(float x) { return __float2half_rn(x); }
template <>
__device__ inline __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

// x rounded to T and back: the value a T intermediate holds.
template <typename T>
__device__ inline float round_to(float x) { return to_float(from_float<T>(x)); }

__device__ inline float neg_inf() { return __int_as_float(0xff800000); }

struct Sum {
  __device__ static float identity() { return 0.0f; }
  __device__ static float apply(float a, float b) { return a + b; }
};

// fmaxf/fminf skip NaN, so a NaN never hides the other values' extreme; the ops that care
// (softmax, logsumexp) see the NaN again in their sum pass.
struct Max {
  __device__ static float identity() { return neg_inf(); }
  __device__ static float apply(float a, float b) { return fmaxf(a, b); }
};

struct Min {
  __device__ static float identity() { return -neg_inf(); }
  __device__ static float apply(float a, float b) { return fminf(a, b); }
};

// Butterfly over the 32 lanes (offsets 16, 8, 4, 2, 1): every lane ends with the same value,
// because a + b == b + a bit for bit.
template <typename Op>
__device__ inline float warp_reduce(float v) {
  for (int offset = 16; offset > 0; offset /= 2) {
    v = Op::apply(v, __shfl_xor_sync(0xffffffffu, v, offset));
  }
  return v;
}

// Warp butterflies, then lane 0 of each warp to shared memory, then one more butterfly over
// those (missing warps read the identity). blockDim.x must be a multiple of 32, at most 1024.
// Every thread gets the result.
template <typename Op>
__device__ inline float block_reduce(float v, float* scratch) {
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  v = warp_reduce<Op>(v);
  if (lane == 0) {
    scratch[warp] = v;
  }
  __syncthreads();
  v = lane < static_cast<int>(blockDim.x / 32) ? scratch[lane] : Op::identity();
  v = warp_reduce<Op>(v);
  __syncthreads();  // the next reduction reuses scratch
  return v;
}

}  // namespace mlxport
