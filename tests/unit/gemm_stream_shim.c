/* gemm_stream_shim.c: the GEMM kernels (gemm.c) built a second time with
 * every weight matrix taken as too large for the caches and no limit on
 * the rows, so that the unit tests reach packedStream at small sizes. Its
 * entry point is seqk_gemm_packed_stream_shim; the other entry points are
 * renamed out of the way of the kernel library's. */
#define GEMM_STREAM_BYTES 1
#define STREAM_MAX_ROWS (1 << 30)
#define seqk_gemm seqk_gemm_shim_unused
#define seqk_conv2d_gemm seqk_conv2d_gemm_shim_unused
#define seqk_gemm_packed seqk_gemm_packed_shim_unused
#define seqk_gemm_packed_stream seqk_gemm_packed_stream_shim
#include "gemm.c"
