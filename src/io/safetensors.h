/* safetensors.h - reading and writing the safetensors layout (internal to libordnet).
 *
 * Layout: an 8-byte little-endian header length N, N bytes of JSON
 *
 *     {"__metadata__": {"key": "value", ...},
 *      "conv2d.weight": {"dtype": "F32", "shape": [4, 3, 3, 3], "data_offsets": [0, 432]},
 *      ...}
 *
 * then the data section: raw little-endian tensor bytes, offsets relative to its start.
 *
 * The reader accepts F32 (read as float) and I32 / I64 (read as int, for labels); any
 * other dtype is an error. It is meant for untrusted files (user checkpoints): every
 * length, offset and shape is checked against the file before anything is read, and a
 * bad file gives an on_error naming the file and the problem, never a crash. Tensor data
 * is copied into aligned arrays, so the pointers it gives are safe to use as float/int.
 *
 * The writer collects named tensors (copied at add time) and string metadata, then
 * writes them atomically: to PATH.tmp.PID, fflush + fsync, rename over PATH. On any
 * failure the temporary file is removed and an existing PATH is left untouched.
 */
#ifndef ON_IO_SAFETENSORS_H
#define ON_IO_SAFETENSORS_H

#include "ordnet.h"

#include <stddef.h>
#include <stdint.h>

#define ON_ST_MAX_DIMS 8                       /* more dimensions: the file is rejected */
#define ON_ST_MAX_HEADER ((uint64_t)100 << 20) /* a larger JSON header: rejected */

enum { ON_ST_F32 = 0, ON_ST_I32 = 1, ON_ST_I64 = 2 };

/* One tensor of a file that was read. Exactly one of f and i is set. */
typedef struct on_st_tensor {
    const char *name;
    int dtype; /* ON_ST_*: as stored in the file */
    int ndims; /* 0 for a scalar */
    int64_t dims[ON_ST_MAX_DIMS];
    size_t size;    /* number of elements: the product of dims (1 for a scalar) */
    const float *f; /* F32 data, else NULL */
    const int *i;   /* I32 / I64 data converted to int, else NULL */
} on_st_tensor;

typedef struct on_st_file on_st_file;

/* Read and check a whole file. NULL on error (err says why, naming path). */
on_st_file *on_st_read(const char *path, on_error *err);
/* The same from bytes in memory; label names the source in error messages. */
on_st_file *on_st_parse(const void *buf, size_t len, const char *label, on_error *err);
void on_st_free(on_st_file *f); /* NULL is fine */

/* Tensors in the order of the file's header. */
int on_st_count(const on_st_file *f);
const char *on_st_name(const on_st_file *f, int i);
const on_st_tensor *on_st_at(const on_st_file *f, int i);
/* The tensor called name, or NULL. */
const on_st_tensor *on_st_find(const on_st_file *f, const char *name);
/* Shortcut for F32 tensors: the data and dims (ndims returned through *ndims when not
 * NULL, dims copied into dims[ON_ST_MAX_DIMS] when not NULL); NULL when there is no F32
 * tensor of that name. */
const float *on_st_find_f32(const on_st_file *f, const char *name, int *ndims, int64_t *dims);
/* Metadata value of key, or NULL. */
const char *on_st_meta(const on_st_file *f, const char *key);
int on_st_meta_count(const on_st_file *f);
const char *on_st_meta_key(const on_st_file *f, int i);

/* --- writing ---------------------------------------------------------------------- */

typedef struct on_st_writer on_st_writer;

on_st_writer *on_st_writer_new(void);
void on_st_writer_free(on_st_writer *w); /* NULL is fine */
/* Add a tensor of prod(dims) floats (ndims 0: a scalar), copied now. Names must be
 * unique, non-empty and not "__metadata__". */
int on_st_writer_add(on_st_writer *w, const char *name, const float *data, int ndims,
                     const int64_t *dims, on_error *err);
/* The same for integers, stored as I64. */
int on_st_writer_add_int(on_st_writer *w, const char *name, const int *data, int ndims,
                         const int64_t *dims, on_error *err);
/* Set a metadata entry (replaces an earlier value of the same key). */
int on_st_writer_meta(on_st_writer *w, const char *key, const char *value, on_error *err);
/* Write everything atomically to path (see above). */
int on_st_write(const on_st_writer *w, const char *path, on_error *err);

#endif
