/* conv_variant.h - turning convolution kernels off, for A/B benchmarks in one process
 * (bench/conv_ab.c) and for tests that hold each kernel to the reference. Forward only:
 * the backward always takes the default kernels. */
#ifndef ON_CONV_VARIANT_H
#define ON_CONV_VARIANT_H

enum {
    ON_CONV_NO_WINO = 1,         /* 3x3 stride 1: no Winograd (the taps or im2col instead) */
    ON_CONV_NO_TAPS = 2,         /* stride 1: no tap-by-tap products (im2col instead) */
    ON_CONV_NO_GROUP = 4,        /* Winograd: one sample per chunk, as before groups of samples */
    ON_CONV_NO_LANES = 8,        /* gemm.c: products of 49 to 52 columns with the columns in
                                    the vector lanes (block_mixed), not the rows (lanes) */
    ON_CONV_STATIC_SPLIT = 16,   /* inference: each thread its static share of the samples
                                    only, as in training, taking none from the others' shares
                                    (op.h's on_queue) */
    ON_CONV_NO_MERGE_CHAIN = 32, /* graph.c: a merge after a convolution (ResNet's add) runs
                                    as a pass of its own, not in the conv's per-sample chain */
    ON_CONV_AB = 0x80,           /* set while compiling a model whose kernels will be switched:
                                    scratch memory for any of them */
    ON_CONV_NO_WINO4 = 0x100,    /* inference: Winograd F(2x2) where F(4x4) would run */
    ON_CONV_WINO4_ALL = 0x200,   /* inference: F(4x4) on every Winograd shape, whatever its
                                    tiles and channels (compile with ON_CONV_AB) */
    ON_CONV_NO_BACKWARD_CHAIN = 0x400,  /* graph.c, read when compiling: every backward a pass
                                           of its own over the batch, none sample by sample */
    ON_CONV_BLAS_PRODUCTS = 0x800,      /* every product by OpenBLAS, not gemm.c: Winograd's, and
                                           im2col's, 1x1's and the taps' where gemm.c
                                           would take them (gemm.h's on_product); forward
                                           and backward */
    ON_CONV_NO_AVX512 = 0x1000,         /* gemm.c: the AVX2 kernel where the CPU has AVX-512 */
    ON_CONV_NO_CLAMP = 0x2000,          /* graph.c: a residual add and a ReLU after a
                                           convolution run as layers of their own in inference,
                                           not in the conv's stores */
    ON_CONV_SHARE_FILTERS = 0x4000,     /* Winograd at batch 1: the threads split the
                                           channels and filters, not the tile rows */
    ON_CONV_SAVED_U = 0x8000,           /* Winograd F(2x2) at batch 1: U read from the node's
                                           saved memory, not made on the fly */
    ON_CONV_NO_DIRECT2 = 0x10000,       /* stride 2 with 1-3 channels: the forward by im2col,
                                           not conv_direct2.c's sums */
    ON_CONV_NO_POOL_FUSE = 0x20000,     /* graph.c: a 2x2 max-pool after a convolution
                                           (Winograd F(2x2), the direct kernel) runs as a layer
                                           of its own in inference, not in the conv's stores */
    ON_CONV_NO_SLOTS = 0x40000,         /* graph.c: an inference's per-sample chain writes every
                                           layer's sample at its place, none in a thread's slot */
    ON_CONV_NO_IN_PLACE = 0x80000,      /* graph.c, read when compiling: every layer's output,
                                           and gradient, in a buffer of its own (op.h's
                                           in_place) */
    ON_CONV_NO_AVX2_DROPOUT = 0x100000, /* dropout.c: every mask by the C loops, none by the
                                           AVX2 kernel */
    ON_CONV_NO_DCLAMP = 0x200000,       /* graph.c: a clamp's backward below a BatchNorm a pass
                                           of its own, not in the BatchNorm's (op.h's dclamp) */
    ON_CONV_NO_WINO4C = 0x400000,       /* inference: small images by F(2x2) (or F(4x4) by
                                           tiles), not F(4x4) with channels in the lanes */
    ON_CONV_NO_DY_CHAIN = 0x800000,     /* graph.c: a backward chain over a convolution runs
                                           before it, not inside it (on_call's dy_ready) */
    ON_CONV_NO_DY_SLOT = 0x1000000,     /* graph.c: such a chain inside the convolution's
                                           backward leaves each sample's dy in the batch's
                                           buffer, not in a thread's slot */
    ON_CONV_NO_DENSE_COLS = 0x2000000,  /* dense.c: the backward by OpenBLAS also where the
                                           outputs are few */
    ON_CONV_NO_BN_CHAIN = 0x4000000,    /* graph.c: a BatchNorm's backward a pass over the
                                           batch, never the top of a backward chain */
    ON_CONV_NO_TRAIN_SLOTS = 0x8000000, /* graph.c: a training forward's BatchNorm or
                                           convolution writes its whole output, though only
                                           the max-pool after it reads it */
    ON_CONV_NO_DW_LANES = 0x10000000,   /* depthwise: each channel's plane along its rows
                                           (conv_depthwise.c), not 8 channels in the lanes
                                           (conv_dw_lanes.c) */
    ON_CONV_NO_POOL_3S2 = 0x20000000,   /* pool.c: a 3x3 stride-2 max-pool's columns by the
                                           generic phases, not max_columns_3s2's shuffles */
    ON_CONV_WINO4_ROWS = 0x40000000,    /* F(4x4) at batch 1: the threads split the tile rows
                                           also where they do not split evenly */
    ON_CONV_PW_BY_FILTERS = (int)0x80000000u, /* conv.c: a 1x1 convolution at batch 1 split
                                                 by filters also where its input is larger
                                                 than its weights */
};

extern int on_conv_variant; /* conv.c; 0: every kernel where it applies */

#endif
