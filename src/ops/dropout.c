/* dropout.c - inverted dropout: y = m * x / q, m ~ Bernoulli(q), q = 1 - rate.
 *
 * The mask is a pure function of (node key, step, element index) through a counter-based
 * generator (a 32-bit integer hash of the index, in vector lanes; p is rounded to
 * 1/2^24), so it is the same whatever the thread count or the order the samples run in.
 * A training forward keeps it (one byte per element, in the node's saved memory) for the
 * backward, which would otherwise hash every index again (that cost more than the byte).
 * At eval time dropout is the identity.
 */
#include "conv_variant.h"
#include "op.h"

#include <string.h>

static int drop_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (!(a->rate >= 0 && a->rate <= 1))
        return on_fail(err, "rate must be in [0,1], got %g", a->rate);
    *ys = xs;
    return 0;
}

/* The draw of element i: murmur3's finalizer of the index mixed with the key. */
static inline uint32_t draw(uint32_t i, uint32_t k) {
    uint32_t h = i * 0x9E3779B1u ^ k;
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h >> 8; /* 24 bits */
}

/* out[j] = in[j] * scale where the draw of index g0 + j (under key k) is >= cut, else 0; a
 * vector loop (eight hashes at a time with AVX2, four with SSE4.1). Draws are below 2^24,
 * so the comparison may be signed. */
ON_VECTOR_CLONES static void drop_run(const float *in, float *out, size_t n, uint32_t g0,
                                      uint32_t k, uint32_t cut, float scale) {
#pragma omp simd
    for (size_t j = 0; j < n; j++)
        out[j] = (int32_t)draw(g0 + (uint32_t)j, k) >= (int32_t)cut ? in[j] * scale : 0.0f;
}

/* drop_run, also writing each element's keep (1) or drop (0) byte */
ON_VECTOR_CLONES static void drop_keep(const float *in, float *out, size_t n, uint32_t g0,
                                       uint32_t k, uint32_t cut, float scale, unsigned char *keep) {
#pragma omp simd
    for (size_t j = 0; j < n; j++) {
        int kp = (int32_t)draw(g0 + (uint32_t)j, k) >= (int32_t)cut;
        keep[j] = (unsigned char)kp;
        out[j] = kp ? in[j] * scale : 0.0f;
    }
}

/* out[j] = in[j] * scale where keep[j], else 0 */
ON_VECTOR_CLONES static void drop_kept(const float *in, float *out, size_t n,
                                       const unsigned char *keep, float scale) {
#pragma omp simd
    for (size_t j = 0; j < n; j++) out[j] = keep[j] ? in[j] * scale : 0.0f;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(ORDNET_NO_CLONES)
/* drop_run and drop_keep written out in AVX2, 32 elements a turn, where the CPU has it:
 * gcc's vectors of those loops kept 64-bit indices (a permute per hash), loaded the input
 * under the keep mask (vmaskmovps) and hashed i * 0x9E3779B1 with a multiply where an add
 * of 8 * 0x9E3779B1 per vector does. The same bits: the same draws and products, 0 where
 * dropped. A dropout after the reference model's first convolution (32 x 28 x 28 a sample,
 * in its per-sample chain): 1.2 -> 0.65 ms a batch of 128, one thread. (drop_kept written
 * out so was no faster: 1.03-1.05x the backward's time.) */
#define HAVE_AVX2_DROP 1
#include <immintrin.h>

/* The draws of 8 indices whose i * 0x9E3779B1 is gi, under key k: their 24 bits */
__attribute__((target("avx2"))) static inline __m256i draw8(__m256i gi, __m256i k) {
    __m256i h = _mm256_xor_si256(gi, k);
    h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
    h = _mm256_mullo_epi32(h, _mm256_set1_epi32((int)0x85EBCA6Bu));
    h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 13));
    h = _mm256_mullo_epi32(h, _mm256_set1_epi32((int)0xC2B2AE35u));
    h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
    return _mm256_srli_epi32(h, 8);
}

/* drop_run / drop_keep (keep not NULL) over the first n - n % 32 elements; returns them */
__attribute__((target("avx2"))) static size_t drop_avx2(const float *in, float *out, size_t n,
                                                        uint32_t g0, uint32_t k, uint32_t cut,
                                                        float scale, unsigned char *keep) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i G = _mm256_set1_epi32((int)0x9E3779B1u), key = _mm256_set1_epi32((int)k);
    const __m256i step = _mm256_set1_epi32((int)(8u * 0x9E3779B1u)), one = _mm256_set1_epi8(1);
    const __m256i below = _mm256_set1_epi32((int)cut - 1); /* draw >= cut: draw > cut - 1 */
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256 sc = _mm256_set1_ps(scale);
    __m256i gi = _mm256_mullo_epi32(_mm256_add_epi32(_mm256_set1_epi32((int)g0), lane), G);
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        __m256i m[4];
        for (int q = 0; q < 4; q++) {
            m[q] = _mm256_cmpgt_epi32(draw8(gi, key), below);
            gi = _mm256_add_epi32(gi, step);
            __m256 v = _mm256_mul_ps(_mm256_loadu_ps(in + j + 8 * q), sc);
            _mm256_storeu_ps(out + j + 8 * q, _mm256_and_ps(_mm256_castsi256_ps(m[q]), v));
        }
        if (keep) { /* 32 masks -> 32 bytes of 0 or 1, in order */
            __m256i b =
                _mm256_packs_epi16(_mm256_packs_epi32(m[0], m[1]), _mm256_packs_epi32(m[2], m[3]));
            b = _mm256_permutevar8x32_epi32(b, order);
            _mm256_storeu_si256((__m256i *)(keep + j), _mm256_and_si256(b, one));
        }
    }
    return j;
}

static int have_avx2(void) {
    return !(on_conv_variant & ON_CONV_NO_AVX2_DROPOUT) && __builtin_cpu_supports("avx2");
}
#endif

/* The key of elements [hi * 2^32, (hi + 1) * 2^32). */
static inline uint32_t key_of(uint64_t key64, size_t hi) {
    return (uint32_t)key64 ^ (hi ? (uint32_t)on_mix64(key64 ^ hi) : 0u);
}

/* One call's work, blocks of BLOCK elements at a time (a thread's unit) */
enum { BLOCK = 4096 };
typedef struct drop_job {
    const float *in;
    float *out;
    unsigned char *keep;
    size_t total, base;
    uint64_t key64;
    uint32_t cut;
    float scale;
    int backward;
} drop_job;

static void drop_blocks(const void *ctx, long b0, long b1) {
    const drop_job *d = ctx;
    for (long bi = b0; bi < b1; bi++) {
        size_t i = (size_t)bi * BLOCK, end = i + BLOCK < d->total ? i + BLOCK : d->total;
        /* element g = base + i draws with the low 32 bits of g, under a key that changes
         * every 2^32 elements; a block that crosses such a boundary goes element by element */
        size_t g = d->base + i;
        if (d->keep && d->backward) {
            drop_kept(d->in + i, d->out + i, end - i, d->keep + i, d->scale);
        } else if ((g >> 32) == ((d->base + end - 1) >> 32)) {
            uint32_t k = key_of(d->key64, g >> 32);
#ifdef HAVE_AVX2_DROP
            if (have_avx2()) {
                size_t done = drop_avx2(d->in + i, d->out + i, end - i, (uint32_t)g, k, d->cut,
                                        d->scale, d->keep ? d->keep + i : NULL);
                i += done, g += done;
            }
#endif
            if (d->keep)
                drop_keep(d->in + i, d->out + i, end - i, (uint32_t)g, k, d->cut, d->scale,
                          d->keep + i);
            else
                drop_run(d->in + i, d->out + i, end - i, (uint32_t)g, k, d->cut, d->scale);
        } else {
            for (; i < end; i++) {
                g = d->base + i;
                int kp = draw((uint32_t)g, key_of(d->key64, g >> 32)) >= d->cut;
                if (d->keep) d->keep[i] = (unsigned char)kp;
                d->out[i] = kp ? d->in[i] * d->scale : 0.0f;
            }
        }
    }
}

/* in (N,S) -> out (N,S); in = x forward, dy backward. Element i keeps when its draw >= cut;
 * with keep (the node's saved bytes, from the batch's first element) the forward writes
 * the decisions there and the backward reads them. */
static void drop_apply(const on_call *c, const float *in, float *out, int backward) {
    size_t total = (size_t)c->n * on_shape_size(c->xs);
    if (!c->train || c->a->rate == 0) {
        if (out != in) memcpy(out, in, sizeof(float) * total);
        return;
    }
    float p = c->a->rate;
    drop_job d = {.in = in, .out = out, .total = total, .backward = backward};
    d.scale = p < 1 ? 1.0f / (1.0f - p) : 0.0f;
    d.key64 = on_mix64(c->key ^ on_mix64(c->step));
    d.cut = (uint32_t)(p * 16777216.0f + 0.5f);
    if (d.cut > (1u << 24)) d.cut = 1u << 24;
    /* mask indices count from the batch's first element (c->sample0: a per-sample chain) */
    d.base = (size_t)c->sample0 * on_shape_size(c->xs);
    d.keep = c->saved ? (unsigned char *)c->saved + d.base : NULL;
    long blocks = (long)((total + BLOCK - 1) / BLOCK);
    on_parallel_range(c->threads, total > ON_PAR_MIN, blocks, drop_blocks, &d);
}

static void drop_fwd(const on_call *c) {
    drop_apply(c, c->x, c->y, 0);
}
static void drop_bwd(const on_call *c) {
    if (c->dx) drop_apply(c, c->dy, c->dx, 1);
}

/* saved: one keep byte per element (rounded up to floats) */
static size_t drop_saved(const on_attrs *a, on_shape xs, on_shape ys, int n) {
    (void)a;
    (void)ys;
    return ((size_t)n * on_shape_size(xs) + 3) / 4;
}

static on_cost drop_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    (void)ys;
    return on_cost_elementwise(xs, 2);
}

const on_op on_op_dropout = {.name = "dropout",
                             .title = "dropout (inverted)",
                             .props = ON_PROP_ELEMENTWISE | ON_PROP_STOCHASTIC |
                                      ON_PROP_TRAIN_DIFFERS | ON_PROP_ZERO_FIXED |
                                      ON_PROP_POS_HOMOG | ON_PROP_MONO_UP, /* m >= 0 */
                             .ninputs = 1,
                             .in_place = ON_IN_PLACE_OVER | ON_IN_PLACE_UNDER | ON_IN_PLACE_NO_READ,
                             .defaults = {.rate = 0.5f},
                             .args = "rate seed",
                             .shape = drop_shape,
                             .saved_size = drop_saved,
                             .forward = drop_fwd,
                             .backward = drop_bwd,
                             .cost = drop_cost};
