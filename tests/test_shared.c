/* test_shared.c - weight tying (a layer or a model applied twice, on_model_add_shared):
 * one set of parameters, counted once; two applications compute what one layer applied to
 * two inputs computes, with the gradients of both added; the compact form and checkpoints
 * keep the tie, optimize and ONNX export refuse it; and the Keras reader's shared layers,
 * models called on tensors (nested and twice) and several Inputs. Runs in tests/. */
#include "check.h"
#include "graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int find(const on_model *m, const char *name) {
    for (int i = 0; i < m->nn; i++)
        if (!strcmp(m->nodes[i].name, name)) return i;
    return -1;
}

/* The tied model and the same graph untied, e's weights a copy of d's: the outputs are
 * equal, and the tied d's gradient is the sum of the untied d's and e's. */
static void test_tied_equals_two_layers(void) {
    on_error err;
    const char *tied_spec = "input(5) identity(name=a) tanh(name=t) dense(3,from=a,name=d) "
                            "dense(3,from=t,share=d,name=e) concat(d)";
    const char *free_spec = "input(5) identity(name=a) tanh(name=t) dense(3,from=a,name=d) "
                            "dense(3,from=t,name=e) concat(d)";
    on_model *mt = on_model_from_spec(tied_spec, &err);
    CHECK(mt != NULL, "tied model: %s", mt ? "" : err.msg);
    on_model *mf = on_model_from_spec(free_spec, &err);
    CHECK(mf != NULL, "untied model: %s", mf ? "" : err.msg);
    if (!mt || !mf) goto done;
    CHECK(on_model_num_params(mt) == 18 && on_model_num_params(mf) == 36,
          "parameters counted once: %zu (untied %zu)", on_model_num_params(mt),
          on_model_num_params(mf));
    CHECK(on_model_num_tensors(mt) == 2, "one kernel and one bias: %d tensors",
          on_model_num_tensors(mt));
    int e = find(mt, "e"), d = find(mt, "d");
    CHECK(e > 0 && mt->nodes[e].share == d && on_model_first_shared(mt) == e, "e shares d's");
    const int n = 4;
    CHECK(!on_model_compile(mt, n, &err) && !on_model_compile(mf, n, &err), "compile: %s", err.msg);
    on_model_init(mt, 3);
    on_model_init(mf, 7);
    /* the untied model gets the tied one's weights in both layers */
    for (int t = 0; t < 2; t++) {
        const char *nm = on_model_tensor_name(mt, t);
        const char *suffix = strchr(nm, '.');
        char en[64];
        snprintf(en, sizeof en, "e%s", suffix);
        int td = on_model_tensor_find(mf, nm), te = on_model_tensor_find(mf, en);
        CHECK(td >= 0 && te >= 0, "tensors %s and %s", nm, en);
        if (td < 0 || te < 0) goto done;
        size_t sz = on_model_tensor_size(mt, t);
        memcpy(on_model_tensor_data(mf, td), on_model_tensor_data(mt, t), sizeof(float) * sz);
        memcpy(on_model_tensor_data(mf, te), on_model_tensor_data(mt, t), sizeof(float) * sz);
    }
    float x[4 * 5], dy[4 * 6];
    for (int i = 0; i < 20; i++) x[i] = sinf(0.7f * (float)i) * 1.5f;
    for (int i = 0; i < 24; i++) dy[i] = cosf(0.3f * (float)i);
    CHECK(!on_model_forward(mt, x, n, ON_TRAIN) && !on_model_forward(mf, x, n, ON_TRAIN),
          "forward");
    const float *yt = on_model_output(mt), *yf = on_model_output(mf);
    double diff = 0;
    for (int i = 0; i < n * 6; i++) diff = fmax(diff, fabs(yt[i] - yf[i]));
    CHECK(diff == 0, "tied output equals the untied one with copied weights: %g", diff);
    on_model_zero_grad(mt);
    on_model_zero_grad(mf);
    on_model_set_output_grad(mt, dy);
    on_model_set_output_grad(mf, dy);
    CHECK(!on_model_backward(mt) && !on_model_backward(mf), "backward");
    double gerr = 0, gmax = 0;
    for (int t = 0; t < 2; t++) {
        const char *nm = on_model_tensor_name(mt, t);
        char en[64];
        snprintf(en, sizeof en, "e%s", strchr(nm, '.'));
        const float *g = on_model_tensor_grad(mt, t),
                    *gd = on_model_tensor_grad(mf, on_model_tensor_find(mf, nm)),
                    *ge = on_model_tensor_grad(mf, on_model_tensor_find(mf, en));
        for (size_t j = 0; j < on_model_tensor_size(mt, t); j++) {
            gerr = fmax(gerr, fabs(g[j] - (gd[j] + ge[j])));
            gmax = fmax(gmax, fabs(g[j]));
        }
    }
    CHECK(gmax > 0.1 && gerr < 1e-5 * gmax, "tied gradient = sum of both: error %g of %g", gerr,
          gmax);
done:
    on_model_free(mt);
    on_model_free(mf);
}

/* The compact form writes share=NAME and reads it back; a checkpoint keeps one set. */
static void test_round_trips(void) {
    on_error err;
    on_model *m = on_model_from_spec(
        "input(6,6,3) conv2d(3,3,same,name=c) tanh conv2d(3,3,same,share=c) add(c)", &err);
    CHECK(m != NULL, "tied conv: %s", m ? "" : err.msg);
    if (!m) return;
    char *spec = on_model_to_spec(m);
    CHECK(spec && strstr(spec, "share=c"), "written: %s", spec ? spec : "(null)");
    on_model *b = spec ? on_model_from_spec(spec, &err) : NULL;
    CHECK(b && b->nn == m->nn && b->np == m->np && on_model_first_shared(b) == 3, "read back: %s",
          b ? "" : err.msg);
    on_model_free(b);
    on_model_init(m, 1);
    const char *path = "test_shared.ckpt";
    CHECK(!on_checkpoint_save(m, path, NULL, &err), "save: %s", err.msg);
    b = on_checkpoint_load(path, NULL, &err);
    CHECK(b && b->np == m->np && on_model_first_shared(b) == 3 &&
              !memcmp(b->params, m->params, sizeof(float) * m->np),
          "checkpoint keeps the tie and the weights: %s", b ? "" : err.msg);
    on_model_free(b);
    remove(path);
    free(spec);
    /* the tie is checked when read */
    b = on_model_from_spec("input(4) dense(3,name=d) dense(3,share=d)", &err);
    CHECK(!b && strstr(err.msg, "shares the weights of 'd' (dense), but its input (3) needs "
                                "weights of other shapes"),
          "shapes that differ: %s", b ? "(a model)" : err.msg);
    on_model_free(b);
    b = on_model_from_spec("input(4) dense(4,name=d) dense(5,share=d)", &err);
    CHECK(!b && strstr(err.msg, "spec:1:26: dense shares the weights of 'd', but its arguments "
                                "differ"),
          "arguments that differ: %s", b ? "(a model)" : err.msg);
    on_model_free(b);
    b = on_model_from_spec("input(4) dense(4,name=d) tanh(share=d)", &err);
    CHECK(!b && strstr(err.msg, "no earlier tanh layer with weights is called 'd'"),
          "share of another op: %s", b ? "(a model)" : err.msg);
    on_model_free(b);
    /* optimize and ONNX export refuse with the layers' names */
    on_rewrite rw[8];
    int nrw = 0;
    on_model *o = on_optimize(m, rw, 8, &nrw, &err);
    CHECK(!o && strstr(err.msg, "layer 'conv2d_1' shares the weights of 'c'"), "optimize: %s",
          o ? "(a model)" : err.msg);
    on_model_free(o);
    void *buf = NULL;
    size_t len = 0;
    /* a build without ONNX refuses every export, saying so (test_optional) */
    int onnx = strstr(on_build_features(), "onnx") != NULL;
    CHECK(on_onnx_encode(m, &buf, &len, &err) &&
              strstr(err.msg,
                     onnx ? "layer 'conv2d_1' shares the weights of 'c'" : "without ONNX support"),
          "ONNX export: %s", err.msg);
    free(buf);
    char *text = on_model_summary(m, ON_FORMAT_TEXT);
    CHECK(text && strstr(text, "Total params: 84 "), "summary counts once: %s", text ? text : "");
    free(text);
    on_model_free(m);
}

static on_model *read(const char *text) {
    on_error err;
    on_model *m = on_model_from_text(text, "model.py", NULL, 0, &err);
    if (!m) printf("unexpected error: %s\n", err.msg);
    return m;
}

static const char *read_err(const char *text, on_error *err) {
    on_model *m = on_model_from_text(text, "model.py", NULL, 0, err);
    if (m) snprintf(err->msg, sizeof err->msg, "(a model)");
    on_model_free(m);
    return err->msg;
}

/* Keras counts: the summary's Total / Trainable / Non-trainable lines. */
static int counts(const on_model *m, const char *total, const char *trainable, const char *non) {
    char *t = m ? on_model_summary(m, ON_FORMAT_TEXT) : NULL;
    char a[64], b[64], c[64];
    snprintf(a, sizeof a, "Total params: %s ", total);
    snprintf(b, sizeof b, "Trainable params: %s ", trainable);
    snprintf(c, sizeof c, "Non-trainable params: %s ", non);
    int ok = t && strstr(t, a) && strstr(t, b) && strstr(t, c);
    if (!ok) printf("%s\n", t ? t : "(no model)");
    free(t);
    return ok;
}

static void test_keras(void) {
    /* the Siamese tower of keras.io's siamese_contrastive, shared by two branches of one
     * Input (the published model joins two Inputs with a Lambda): Keras counts the tower's
     * 5,318 once (4,804 trainable), plus the last Dense(1)'s 11 */
    const char *siamese = "import keras\nfrom keras import layers\n"
                          "def tower():\n"
                          "    inputs = layers.Input((28, 28, 1))\n"
                          "    x = layers.BatchNormalization()(inputs)\n"
                          "    x = layers.Conv2D(4, (5, 5), activation='tanh')(x)\n"
                          "    x = layers.AveragePooling2D(pool_size=(2, 2))(x)\n"
                          "    x = layers.Conv2D(16, (5, 5), activation='tanh')(x)\n"
                          "    x = layers.AveragePooling2D(pool_size=(2, 2))(x)\n"
                          "    x = layers.Flatten()(x)\n"
                          "    x = layers.BatchNormalization()(x)\n"
                          "    x = layers.Dense(10, activation='tanh')(x)\n"
                          "    return keras.Model(inputs, x, name='embedding')\n"
                          "emb = tower()\n"
                          "inp = layers.Input((28, 28, 1))\n"
                          "a = emb(inp)\n"
                          "b = emb(layers.RandomFlip('horizontal')(inp))\n"
                          "d = layers.subtract([a, b])\n"
                          "out = layers.Dense(1, activation='sigmoid')(d)\n"
                          "model = keras.Model(inp, out)\n";
    on_model *m = read(siamese);
    CHECK(m && counts(m, "5,329", "4,815", "514"), "shared tower counted once");
    CHECK(m && strstr(on_model_notes(m), "shared layers (one set of weights, counted once"),
          "note: %s", m ? on_model_notes(m) : "");
    on_model_free(m);
    /* a layer object applied twice (weight tying in the functional API) */
    m = read("inp = Input(shape=(8,))\nd = Dense(8, activation='relu', name='shared')\n"
             "a = d(inp)\nb = d(a)\nout = Dense(2)(b)\n");
    CHECK(m && counts(m, "90", "90", "0") && find(m, "shared_1") > 0 &&
              m->nodes[find(m, "shared_1")].share == find(m, "shared"),
          "shared Dense: 72 + 18");
    on_model_free(m);
    /* a SeparableConv2D applied twice: both of its parts are tied */
    m = read("inp = Input(shape=(8, 8, 4))\ns = SeparableConv2D(4, 3, padding='same')\n"
             "x = s(inp)\nx = s(x)\n");
    CHECK(m && counts(m, "56", "56", "0") && on_model_first_shared(m) > 0,
          "shared SeparableConv2D: 36 + 16 + 4");
    on_model_free(m);
    /* a Sequential model called on two tensors */
    m = read("inp = Input(shape=(6,))\nblock = Sequential([Dense(6), BatchNormalization()])\n"
             "x = block(inp)\ny = block(x)\nmodel = Model(inp, add([x, y]))\n");
    CHECK(m && counts(m, "66", "54", "12"), "shared Sequential: 42 + 24");
    on_model_free(m);
    /* a model called in its own graph: its layers, again, tied */
    m = read("inp = Input(shape=(5,))\nh = Dense(5)(inp)\nm1 = Model(inp, h)\n"
             "out = m1(h)\nmodel = Model(inp, out)\n");
    CHECK(m && counts(m, "30", "30", "0"), "model called on its own output");
    on_model_free(m);
    /* nested: an encoder model called by another model counts its layers once */
    m = read("ei = Input((10,))\nenc = Model(ei, Dense(4)(ei))\n"
             "di = Input((4,))\ndec = Model(di, Dense(10)(di))\n"
             "i = Input((10,))\nauto = Model(i, dec(enc(i)))\n");
    CHECK(m && counts(m, "94", "94", "0"), "encoder then decoder: 44 + 50");
    on_model_free(m);
    /* a functional model listed in a Sequential model, frozen before (transfer learning) */
    m = read("i = Input((16,))\nbase = Model(i, Dense(8, activation='relu')(i), name='base')\n"
             "base.trainable = False\nmodel = Sequential([base, Dense(3)])\n");
    CHECK(m && counts(m, "163", "27", "136") &&
              strstr(on_model_notes(m), "models called as layers (base)"),
          "a Model in Sequential([...]): 136 frozen + 27");
    on_model_free(m);
    /* a layer of a model, applied again by itself in the graph the model is called in
     * (before or after the call): one set of weights */
    m = read("i = Input((5,))\nd = Dense(5)\nenc = Model(i, d(i))\nx = Input((5,))\n"
             "y = enc(x)\nz = d(y)\nmodel = Model(x, z)\n");
    CHECK(m && counts(m, "30", "30", "0") && on_model_first_shared(m) == 2,
          "a model's layer applied after the model");
    on_model_free(m);
    m = read("i = Input((5,))\nd = Dense(5)\nenc = Model(i, d(i))\nx = Input((5,))\n"
             "y = d(x)\nz = enc(y)\nmodel = Model(x, z)\n");
    CHECK(m && counts(m, "30", "30", "0") && on_model_first_shared(m) == 2,
          "a model's layer applied before the model");
    on_model_free(m);
    /* Normalization's given values reach the model that calls the one holding it */
    m = read("i = Input((3,))\npre = Model(i, Normalization(mean=[1.0, 2.0, 3.0], "
             "variance=[4.0, 4.0, 4.0])(i))\nx = Input((3,))\nmodel = Model(x, "
             "Dense(2)(pre(x)))\n");
    {
        int t = m ? on_model_tensor_find(m, "normalization.mean") : -1;
        const float *mu = t >= 0 ? on_model_tensor_data(m, t) : NULL;
        CHECK(mu && mu[0] == 1 && mu[1] == 2 && mu[2] == 3, "Normalization's mean in a called "
                                                            "model");
    }
    on_model_free(m);
    /* model.trainable = False after the model was called: the copies are frozen too */
    m = read("i = Input((4,))\nbase = Model(i, Dense(4)(Dense(4)(i)))\nx = Input((4,))\n"
             "y = base(x)\nbase.trainable = False\nmodel = Model(x, Dense(2)(y))\n");
    CHECK(m && counts(m, "50", "10", "40"), "frozen after the call: 40 non-trainable");
    on_model_free(m);
    /* a checkpoint of a Keras model with a tied BatchNorm (its momentum 1 - 0.93 is not exact
     * as text) and a tied regularized conv reads back with its ties */
    m = read("inp = Input(shape=(6, 6, 1))\nbn = BatchNormalization(momentum=0.93, "
             "epsilon=0.0013)\nconv = Conv2D(1, 3, padding='same', "
             "kernel_regularizer=regularizers.l2(0.00037))\nx = conv(bn(inp))\n"
             "x = conv(bn(x))\nmodel = Model(inp, Dense(3)(Flatten()(x)))\n");
    if (m) {
        on_error e2;
        on_model_init(m, 2);
        CHECK(!on_checkpoint_save(m, "test_shared_k.ckpt", NULL, &e2), "save: %s", e2.msg);
        on_model *b = on_checkpoint_load("test_shared_k.ckpt", NULL, &e2);
        CHECK(b && b->np == m->np && b->ns == m->ns && on_model_first_shared(b) > 0,
              "Keras ties through a checkpoint: %s", b ? "" : e2.msg);
        on_model_free(b);
        remove("test_shared_k.ckpt");
    }
    CHECK(m && counts(m, "125", "123", "2"), "tied BatchNorm and conv: 4 + 10 + 111");
    on_model_free(m);
    /* a layer and a Sequential listed twice in Sequential lists */
    m = read("d = Dense(6, activation='tanh')\nblock = Sequential([Dense(6), Dense(6)])\n"
             "model = Sequential([Input((6,)), d, d, block, block, Dense(2)])\n");
    CHECK(m && counts(m, "140", "140", "0") && on_model_first_shared(m) > 0,
          "Sequential([d, d, block, block]): 42 + 84 + 14");
    on_model_free(m);
    /* the fuzz seed with all of it (a tower called twice, a Sequential called twice, a model
     * called in its own graph): its tie once read freed node memory (caught by the fuzzer) */
    {
        on_error e2;
        m = on_model_from_file("fuzz/corpus_spec/shared_models.py", NULL, 0, &e2);
        CHECK(m && counts(m, "173", "165", "8"), "shared_models.py: %s", m ? "" : e2.msg);
        on_model_free(m);
    }
    /* errors */
    on_error err;
    CHECK(strstr(read_err("a = Input((4,), name='left')\nb = Input((4,), name='right')\n"
                          "d = Dense(3)\nmodel = Model([a, b], [d(a), d(b)])\n",
                          &err),
                 "model.py:4:23: ordnet models have one output; this model has 2: a layer "
                 "output, a layer output"),
          "two outputs: %s", err.msg);
    CHECK(strstr(read_err("a = Input((4,), name='left')\nb = Input((4,), name='right')\n"
                          "d = Dense(3)\nmodel = Model([a], add([d(a), d(b)]))\n",
                          &err),
                 "model.py:4:15: the model's output needs the Input 'right' at 2:5, which is "
                 "not in its inputs"),
          "an Input left out of inputs=: %s", err.msg);
    CHECK(strstr(read_err("a = Input((4,))\nm = Model(a, Dense(2)(a))\nb = Input((3,))\n"
                          "y = m(b)\n",
                          &err),
                 "model.py:4:6: this Model takes (None, 4), and is called on (None, 3)"),
          "wrong shape: %s", err.msg);
}

/* Models with several Inputs: packed into node 0, one input_part node each. */
static void test_inputs(void) {
    /* a Siamese pair as people write it: a tower Model called on two Inputs, subtracted,
     * then a classifier. Keras: tower 4*8+8 + 8*3+3 = 67, counted once, + Dense(1) 4 = 71 */
    const char *siamese = "from tensorflow import keras\nfrom tensorflow.keras import layers\n"
                          "inp = keras.Input(shape=(4,))\n"
                          "x = layers.Dense(8, activation='relu')(inp)\n"
                          "x = layers.Dense(3)(x)\n"
                          "tower = keras.Model(inp, x, name='tower')\n"
                          "left = keras.Input(shape=(4,), name='left')\n"
                          "right = keras.Input(shape=(4,), name='right')\n"
                          "d = layers.subtract([tower(left), tower(right)])\n"
                          "out = layers.Dense(1, activation='sigmoid')(d)\n"
                          "model = keras.Model(inputs=[left, right], outputs=out)\n";
    on_model *m = read(siamese);
    char s[256];
    on_error err;
    CHECK(m && counts(m, "71", "71", "0"), "Siamese: the tower counted once");
    CHECK(m && on_model_num_inputs(m) == 2 &&
              !strcmp(on_model_inputs_str(m, s, sizeof s), "left (None, 4), right (None, 4)"),
          "two Inputs: %s", m ? s : "");
    CHECK(m && on_model_first_shared(m) > 0 && find(m, "dense") > 0, "tied, Keras's names");
    char *t = m ? on_model_summary(m, ON_FORMAT_TEXT) : NULL;
    CHECK(t && strstr(t, "\nleft  ") && strstr(t, "\nright  ") && !strstr(t, "input_part") &&
              !strstr(t, "(None, 8)                0               0"),
          "summary: the Inputs as rows, no packed row: %s", t ? t : "");
    free(t);
    /* the same values in both halves: the subtraction is 0, the output sigmoid(bias) */
    if (m && !on_model_compile(m, 2, &err)) {
        on_model_init(m, 3);
        float x[16] = {1, -2, 3, 0.5f, 1, -2, 3, 0.5f, 1, 2, 3, 4, -1, 0, 2, 1};
        on_model_forward(m, x, 2, ON_EVAL);
        const float *y = on_model_output(m);
        float b = on_model_tensor_data(m, on_model_tensor_find(m, "dense_4.bias"))[0];
        CHECK(fabsf(y[0] - 1 / (1 + expf(-b))) < 1e-6f && fabsf(y[1] - y[0]) > 1e-6f,
              "equal halves give sigmoid(bias) %g: %g, %g", 1 / (1 + expf(-b)), y[0], y[1]);
    }
    /* everything that feeds data refuses it, naming the Inputs */
    const char *want = "this model has 2 inputs: left (None, 4), right (None, 4); ordnet trains "
                       "and runs models with one input";
    on_dataset ds;
    memset(&ds, 0, sizeof ds);
    CHECK(m && on_model_check_one_input(m, &err) && strstr(err.msg, want), "check: %s", err.msg);
    CHECK(m && on_train(m, &ds, NULL, NULL, NULL, NULL, &err) && strstr(err.msg, want),
          "on_train: %s", err.msg);
    CHECK(m && on_evaluate(m, &ds, 4, NULL, NULL, NULL, &err) && strstr(err.msg, want),
          "on_evaluate: %s", err.msg);
    /* the compact form carries it */
    char *spec = m ? on_model_to_spec(m) : NULL;
    on_model *b = spec ? on_model_from_spec(spec, &err) : NULL;
    CHECK(b && counts(b, "71", "71", "0") && on_model_num_inputs(b) == 2, "compact form: %s",
          spec ? spec : "");
    free(spec);
    on_model_free(b);
    on_model_free(m);
    /* two Inputs of different shapes, joined by Concatenate, packed in the Model's order:
     * conv 3*3*2+2 = 20, Dense(4) on 5: 24, Dense(3) on 72 + 4: 231 */
    const char *two = "from keras import layers, Model, Input\n"
                      "img = Input((8, 8, 1), name='img')\nmeta = Input((5,), name='meta')\n"
                      "x = layers.Flatten()(layers.Conv2D(2, 3)(img))\n"
                      "y = layers.Dense(4)(meta)\n"
                      "z = layers.Concatenate()([x, y])\n"
                      "out = layers.Dense(3, activation='softmax')(z)\n"
                      "model = Model(inputs=[%s], outputs=out)\n";
    char text[1024];
    snprintf(text, sizeof text, two, "img, meta");
    m = read(text);
    CHECK(m && counts(m, "275", "275", "0") &&
              !strcmp(on_model_inputs_str(m, s, sizeof s), "img (None, 8, 8, 1), meta (None, 5)") &&
              on_shape_size(on_model_node_shape(m, 0)) == 69,
          "different shapes: %s", m ? s : "");
    on_model_free(m);
    snprintf(text, sizeof text, two, "meta, img");
    m = read(text);
    CHECK(m && counts(m, "275", "275", "0") &&
              !strcmp(on_model_inputs_str(m, s, sizeof s), "meta (None, 5), img (None, 8, 8, 1)"),
          "the Model's order: %s", m ? s : "");
    on_model_free(m);
    /* a model on one Input called on two, joined, with no Model of both: the Model defined
     * is the one read (a layer graph is read only from code with no Model), one Input */
    m = read("a = Input((4,))\nb = Input((4,))\nm = Model(a, Dense(2)(a))\n"
             "x = m(a)\ny = m(b)\nz = add([x, y])\n");
    CHECK(m && counts(m, "10", "10", "0") && on_model_num_inputs(m) == 1, "no Model of both");
    on_model_free(m);
    /* no Model at all: the layer graph, both Inputs (unnamed: input_1, input_2) */
    m = read("a = Input((4,))\nb = Input((4,))\nd = Dense(2)\nz = add([d(a), d(b)])\n");
    CHECK(m && counts(m, "10", "10", "0") && on_model_num_inputs(m) == 2 &&
              !strcmp(on_model_inputs_str(m, s, sizeof s), "input_1 (None, 4), input_2 (None, 4)"),
          "two Inputs, no Model: %s", m ? s : "");
    on_model_free(m);
    /* one Input: node 0 is the Input, as always */
    m = read("a = Input((4,))\nb = Input((3,))\nm = Model(b, Dense(2)(Dense(3)(b)))\n");
    CHECK(m && on_model_num_inputs(m) == 1 && m->nodes[1].op == on_op_find("dense") &&
              !strcmp(on_model_inputs_str(m, s, sizeof s), "input (None, 3)"),
          "one Input: %s", m ? s : "");
    on_model_free(m);
}

int main(void) {
    test_tied_equals_two_layers();
    test_round_trips();
    test_keras();
    test_inputs();
    return check_done();
}
