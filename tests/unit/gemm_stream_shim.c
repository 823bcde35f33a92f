/* gemm_stream_shim.c: the GEMM kernels (gemm.c) built a second time with
 * every weight matrix taken as too large for the caches, so that the unit
 * tests reach packedStream at small sizes: its entry point is
 * seqk_gemm_packed_stream (the other entry points are renamed out of the
 * way of the kernel library's). */
#define GEMM_STREAM_BYTES 1
#define seqk_gemm seqk_gemm_shim_unused
#define seqk_conv2d_gemm seqk_conv2d_gemm_shim_unused
#define seqk_gemm_packed seqk_gemm_packed_stream
#include "gemm.c"
