/* image.c - single images for `ordnet predict`: PGM (P2/P5) and PNG (through libpng),
 * converted to the model's channels (grey <-> RGB) and scaled to [0,1]. The size must be
 * the model's: errors name the file and both sizes. */
#include "../base/base.h"

#ifdef ORDNET_HAVE_PNG
#include <png.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pixels: h*w*ch bytes, interleaved -> out (C,H,W) floats */
static int convert(const char *path, const unsigned char *px, int h, int w, int ch, on_shape want,
                   float *out, on_error *err) {
    if (h != want.h || w != want.w)
        return on_fail(err, "%s is %dx%d but the model takes %dx%d images", path, w, h, want.w,
                       want.h);
    for (int c = 0; c < want.c; c++)
        for (int i = 0; i < h * w; i++) {
            const unsigned char *p = px + (size_t)i * ch;
            float v;
            if (ch >= 3 && want.c == 1)
                v = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
            else
                v = p[ch >= 3 ? (c < 3 ? c : 0) : 0];
            out[(size_t)c * h * w + i] = v / 255.0f;
        }
    return 0;
}

static int read_pgm(const char *path, FILE *f, on_shape want, float *out, on_error *err) {
    char magic[3] = {0};
    int w, h, maxv;
    if (fscanf(f, "%2s", magic) != 1 || (strcmp(magic, "P5") && strcmp(magic, "P2")))
        return on_fail(err, "%s: not a PGM file", path);
    /* skip comments between header fields */
    int vals[3], got = 0;
    while (got < 3) {
        int c = fgetc(f);
        if (c == '#') {
            while ((c = fgetc(f)) != '\n' && c != EOF) {
            }
        } else if (c >= '0' && c <= '9') {
            ungetc(c, f);
            if (fscanf(f, "%d", &vals[got]) != 1) break;
            got++;
        } else if (c == EOF)
            break;
    }
    if (got < 3) return on_fail(err, "%s: truncated PGM header", path);
    w = vals[0], h = vals[1], maxv = vals[2];
    if (w < 1 || h < 1 || w > 16384 || h > 16384 || maxv < 1 || maxv > 255)
        return on_fail(err, "%s: unsupported PGM (%dx%d, max value %d; 8-bit only)", path, w, h,
                       maxv);
    unsigned char *px = malloc((size_t)w * h);
    if (!px) return on_fail(err, "%s: out of memory", path);
    int ok = 1;
    if (magic[1] == '5') {
        fgetc(f); /* the single whitespace after maxval */
        ok = fread(px, 1, (size_t)w * h, f) == (size_t)w * h;
    } else {
        for (int i = 0; ok && i < w * h; i++) {
            int v;
            ok = fscanf(f, "%d", &v) == 1 && v >= 0 && v <= maxv;
            px[i] = (unsigned char)v;
        }
    }
    if (ok && maxv != 255)
        for (int i = 0; i < w * h; i++) px[i] = (unsigned char)(px[i] * 255 / maxv);
    int rc = ok ? convert(path, px, h, w, 1, want, out, err)
                : on_fail(err, "%s: truncated PGM data", path);
    free(px);
    return rc;
}

#ifdef ORDNET_HAVE_PNG
static int read_png(const char *path, FILE *f, on_shape want, float *out, on_error *err) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_stdio(&img, f))
        return on_fail(err, "%s: not a readable PNG (%s)", path, img.message);
    img.format = want.c == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    if (img.width > 16384 || img.height > 16384) {
        png_image_free(&img);
        return on_fail(err, "%s: %ux%u is too large", path, img.width, img.height);
    }
    size_t bytes = PNG_IMAGE_SIZE(img);
    unsigned char *px = malloc(bytes);
    if (!px || !png_image_finish_read(&img, NULL, px, 0, NULL)) {
        free(px);
        png_image_free(&img);
        return on_fail(err, "%s: bad PNG data (%s)", path, img.message);
    }
    int rc =
        convert(path, px, (int)img.height, (int)img.width, want.c == 1 ? 1 : 3, want, out, err);
    free(px);
    return rc;
}

#else
/* PNG's signature, to say what is missing rather than "not a PGM" */
static int png_sig_cmp(const unsigned char *sig, size_t start, size_t n) {
    static const unsigned char png[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    return memcmp(sig + start, png, n);
}
static int read_png(const char *path, FILE *f, on_shape want, float *out, on_error *err) {
    (void)f, (void)want, (void)out;
    return on_fail(err,
                   "%s: ordnet was built without PNG support (libpng); use PGM, or rebuild "
                   "with libpng-dev installed",
                   path);
}
#endif

int on_image_load(const char *path, on_shape want, float *out, on_error *err) {
    if (want.rank != 3 || (want.c != 1 && want.c != 3))
        return on_fail(err, "%s: the model does not take images (its input is not (1 or 3,H,W))",
                       path);
    FILE *f = fopen(path, "rb");
    if (!f) return on_fail(err, "%s: cannot open", path);
    unsigned char sig[8] = {0};
    size_t n = fread(sig, 1, 8, f);
    rewind(f);
    int rc = n == 8 && !png_sig_cmp(sig, 0, 8) ? read_png(path, f, want, out, err)
                                               : read_pgm(path, f, want, out, err);
    fclose(f);
    return rc;
}
