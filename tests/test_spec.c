/* test_spec.c - the model readers (Keras code and the compact form, src/keras/ and src/reader/) and
 * the summary: the forum thread's blocks verbatim, the Fashion-MNIST example, the three Keras
 * styles, Keras's defaults and parameter counts (worked out by hand), the classifier head, the
 * summary's text and JSON, and bad inputs with their exact file:line:col. Runs in tests/. */
#include "check.h"
#include "graph.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The thread's blocks, verbatim, after an Input line. */
static const char *const block1 = "inp = Input(shape=(128, 16))\n"
                                  "x = Convolution1D(64, 5, activation='relu')(inp)\n"
                                  "x = MaxPooling1D()(x)\n"
                                  "x = Dropout(0.2)(x)\n"
                                  "x = BatchNormalization()(x)\n";
static const char *const block2 = "x = Input(shape=(128, 16))\n"
                                  "x = Convolution1D(64, 5)(x)\n"
                                  "x = BatchNormalization()(x)\n"
                                  "x = Activation('relu')(x)\n"
                                  "x = MaxPooling1D()(x)\n"
                                  "x = Dropout(0.2)(x)\n";

static on_model *read(const char *text, const on_shape *input, int classes) {
    on_error err;
    on_model *m = on_model_from_text(text, "model.py", input, classes, &err);
    if (!m) printf("unexpected error: %s\n", err.msg);
    return m;
}

/* "conv1d relu maxpool1d" - the ops of m after its input. */
static const char *ops(const on_model *m, char *buf, size_t n) {
    size_t k = 0;
    buf[0] = 0;
    for (int i = 1; i < m->nn && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%s", i > 1 ? " " : "", m->nodes[i].op->name);
    return buf;
}

/* Trainable + state floats of node i, as Keras counts a layer's parameters. */
static size_t params_of(const on_model *m, int i) {
    size_t s = 0;
    for (int t = 0; t < m->nt; t++)
        if (m->tensors[t].node == i) s += m->tensors[t].d.size;
    return s;
}

static int find(const on_model *m, const char *name) {
    for (int i = 0; i < m->nn; i++)
        if (!strcmp(m->nodes[i].name, name)) return i;
    return -1;
}

static int same_shape(on_shape a, int rank, int c, int h, int w) {
    return a.rank == rank && a.c == c && a.h == h && a.w == w;
}

/* Same layers (names, ops, inputs, shapes, attributes) and parameters. */
static int same_model(const on_model *a, const on_model *b) {
    if (!a || !b || a->nn != b->nn || a->np != b->np || a->ns != b->ns) return 0;
    for (int i = 0; i < a->nn; i++) {
        const on_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (x->op != y->op || strcmp(x->name, y->name) || x->in[0] != y->in[0] ||
            x->in[1] != y->in[1] || memcmp(&x->ys, &y->ys, sizeof x->ys) ||
            (x->op && memcmp(&x->a, &y->a, sizeof x->a)))
            return 0;
    }
    return 1;
}

static void test_thread_blocks(void) {
    char buf[256];
    on_model *m = read(block1, NULL, 0);
    CHECK(m, "block 1 reads");
    if (m) {
        CHECK(!strcmp(ops(m, buf, sizeof buf), "conv1d relu maxpool1d dropout batchnorm"),
              "block 1 ops: %s", buf);
        CHECK(same_shape(m->input, 2, 16, 1, 128), "block 1 input (L,C) -> (C,1,L)");
        CHECK(same_shape(m->nodes[1].ys, 2, 64, 1, 124), "conv1d(64,5) valid: 124 steps");
        CHECK(same_shape(m->nodes[3].ys, 2, 64, 1, 62), "MaxPooling1D() default pool 2 -> 62");
        CHECK(params_of(m, 1) == 5184, "Conv1D(64,5) on 16 channels: 5184 (got %zu)",
              params_of(m, 1));
        CHECK(params_of(m, 5) == 256, "BatchNormalization on 64 channels: 256 (got %zu)",
              params_of(m, 5));
        CHECK(on_model_num_params(m) == 5312, "block 1 trainable: 5184 + 128 = 5312 (got %zu)",
              on_model_num_params(m));
        CHECK(fabsf(m->nodes[4].a.rate - 0.2f) < 1e-7f, "Dropout(0.2)");
        CHECK(fabsf(m->nodes[5].a.eps - 1e-3f) < 1e-9f, "Keras BN epsilon 1e-3, got %g",
              m->nodes[5].a.eps);
        CHECK(fabsf(m->nodes[5].a.momentum - 0.01f) < 1e-7f,
              "Keras BN momentum 0.99 -> 0.01, got %g", m->nodes[5].a.momentum);
        CHECK(!strcmp(m->nodes[1].name, "conv1d") &&
                  !strcmp(m->nodes[5].name, "batch_normalization"),
              "Keras names: %s, %s", m->nodes[1].name, m->nodes[5].name);
        CHECK(on_model_tensor_find(m, "batch_normalization.running_var") >= 0,
              "tensor names follow layer names");
    }
    on_model *f = NULL;
    on_error err;
    f = on_model_from_file("../examples/thread_block1.py", NULL, 0, &err);
    CHECK(f, "examples/thread_block1.py reads: %s", f ? "" : err.msg);
    CHECK(same_model(m, f), "the example file gives the same model as the string");
    on_model_free(f);
    on_model_free(m);

    m = read(block2, NULL, 0);
    CHECK(m, "block 2 reads");
    if (m) {
        CHECK(!strcmp(ops(m, buf, sizeof buf), "conv1d batchnorm relu maxpool1d dropout"),
              "block 2 ops: %s", buf);
        CHECK(on_model_num_params(m) == 5312, "block 2 trainable 5312 (got %zu)",
              on_model_num_params(m));
        CHECK(same_shape(on_model_output_shape(m), 2, 64, 1, 62), "block 2 output (None, 62, 64)");
        CHECK(!strcmp(m->nodes[3].name, "activation"), "Activation('relu') is named activation");
    }
    f = on_model_from_file("../examples/thread_block2.py", NULL, 0, &err);
    CHECK(f, "examples/thread_block2.py reads: %s", f ? "" : err.msg);
    CHECK(same_model(m, f), "the example file gives the same model as the string");
    on_model_free(f);
    on_model_free(m);
}

static void test_fashion_mnist(void) {
    on_error err;
    on_model *m = on_model_from_file("../examples/fashion_mnist.py", NULL, 0, &err);
    CHECK(m, "examples/fashion_mnist.py reads: %s", m ? "" : err.msg);
    if (!m) return;
    char buf[512];
    CHECK(!strcmp(ops(m, buf, sizeof buf),
                  "conv2d batchnorm relu maxpool2d dropout conv2d batchnorm relu "
                  "maxpool2d dropout flatten dense"),
          "ops: %s", buf);
    CHECK(same_shape(on_model_output_shape(m), 1, 10, 1, 1), "output (10)");
    CHECK(on_model_num_params(m) == 50378, "trainable 50378 (got %zu)", on_model_num_params(m));
    CHECK(m->ns == 192, "state 192 (got %zu)", m->ns);
    CHECK(params_of(m, 1) == 320, "Conv2D(32,3) on 1 channel: 320");
    CHECK(params_of(m, 2) == 128, "BatchNormalization on 32 channels: 128");
    CHECK(params_of(m, 6) == 18496, "Conv2D(64,3) on 32 channels: 18496");
    CHECK(params_of(m, 12) == 31370, "Dense(10) on 3136: 31370");
    CHECK(same_shape(m->nodes[11].ys, 1, 3136, 1, 1), "flatten 7*7*64 = 3136");
    CHECK(m->nodes[1].a.pad_mode == ON_PAD_SAME, "padding='same'");
    CHECK(m->nodes[4].a.kh == 2 && m->nodes[4].a.kw == 2 && m->nodes[4].a.sh == 0,
          "pool (2,2), strides None");
    const char *notes = on_model_notes(m);
    CHECK(strstr(notes, "softmax at ../examples/fashion_mnist.py:31:46 is folded into the loss"),
          "softmax note: %s", notes);
    on_model *c = read(
        "input(28,28,1) conv2d(32,3,same) bn relu maxpool dropout(0.2) conv2d(64,3,same) bn relu "
        "maxpool dropout(0.2) flatten dense(10)",
        NULL, 0);
    CHECK(c && c->np == m->np && c->nn == m->nn,
          "the compact form of the reference model has the same parameters");
    on_model_free(c);
    on_model_free(m);
}

static void test_three_styles(void) {
    const char *functional = "from tensorflow import keras\n"
                             "from tensorflow.keras import layers\n"
                             "inputs = keras.Input(shape=(28, 28, 1))\n"
                             "x = layers.Conv2D(16, 3, activation='relu')(inputs)\n"
                             "x = layers.MaxPooling2D()(x)\n"
                             "x = layers.BatchNormalization()(x)\n"
                             "x = layers.Flatten()(x)\n"
                             "outputs = layers.Dense(10)(x)\n"
                             "model = keras.Model(inputs=inputs, outputs=outputs)\n";
    const char *sequential =
        "import tensorflow as tf\n"
        "model = tf.keras.Sequential([\n"
        "    tf.keras.layers.Conv2D(16, 3, activation='relu', input_shape=(28, 28, 1)),\n"
        "    tf.keras.layers.MaxPooling2D(),\n"
        "    tf.keras.layers.BatchNormalization(),\n"
        "    tf.keras.layers.Flatten(),\n"
        "    tf.keras.layers.Dense(10),\n"
        "])\n";
    const char *added =
        "from keras.models import Sequential\n"
        "from keras.layers import Conv2D, MaxPooling2D, BatchNormalization, Flatten, Dense, Input\n"
        "model = Sequential()\n"
        "model.add(Input(shape=(28, 28, 1)))\n"
        "model.add(Conv2D(16, 3, activation='relu'))\n"
        "model.add(MaxPooling2D())\n"
        "model.add(BatchNormalization())\n"
        "model.add(Flatten())\n"
        "model.add(Dense(10))\n"
        "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')\n"
        "model.summary()\n";
    on_model *a = read(functional, NULL, 0), *b = read(sequential, NULL, 0),
             *c = read(added, NULL, 0);
    CHECK(a && b && c, "the three styles read");
    CHECK(same_model(a, b), "functional == Sequential([...])");
    CHECK(same_model(a, c), "functional == model.add(...)");
    if (a) {
        /* conv 16*9+16 = 160, bn 4*16 = 64, dense 13*13*16*10+10 = 27050 */
        CHECK(a->np == 160 + 32 + 27050 && a->ns == 32, "params %zu + %zu", a->np, a->ns);
        CHECK(!strcmp(a->nodes[2].name, "conv2d_relu") && a->nodes[2].op == on_op_find("relu"),
              "activation= is a layer of its own: %s", a->nodes[2].name);
    }
    on_model_free(a);
    on_model_free(b);
    on_model_free(c);
}

static void test_residual_and_functions(void) {
    const char *res = "from tensorflow.keras import layers, Model\n"
                      "def block(x, filters, name=None):\n"
                      "    shortcut = x\n"
                      "    y = layers.Conv2D(filters, 3, padding='same', use_bias=False)(x)\n"
                      "    y = layers.BatchNormalization()(y)\n"
                      "    y = layers.Add(name=name)([shortcut, y])\n"
                      "    return layers.Activation('relu')(y)\n"
                      "\n"
                      "inp = layers.Input(shape=(8, 8, 4))\n"
                      "x = block(inp, 4, name='res1')\n"
                      "x = block(x, filters=4)\n"
                      "z = layers.add([x, inp])\n"
                      "w = z + x\n"
                      "x = layers.GlobalAveragePooling2D()(w)\n"
                      "out = layers.Dense(3)(x)\n"
                      "model = Model(inp, out)\n";
    on_model *m = read(res, NULL, 0);
    CHECK(m, "residual model reads");
    if (!m) return;
    int a = find(m, "res1"), b = find(m, "add"), z = find(m, "add_1"), w = find(m, "add_2");
    CHECK(a > 0 && m->nodes[a].op == on_op_find("add") && m->nodes[a].in[0] == 0 &&
              m->nodes[a].in[1] == find(m, "batch_normalization"),
          "Add()([shortcut, y]) adds the input and bn");
    CHECK(b > 0 && m->nodes[b].in[0] == find(m, "activation") &&
              m->nodes[b].in[1] == find(m, "batch_normalization_1"),
          "second block: shortcut from the first block's output");
    CHECK(z > 0 && m->nodes[z].in[0] == find(m, "activation_1") && m->nodes[z].in[1] == 0,
          "layers.add([x, inp])");
    CHECK(w > 0 && m->nodes[w].in[0] == z && m->nodes[w].in[1] == find(m, "activation_1"),
          "z + x is an add");
    CHECK(m->nodes[find(m, "conv2d")].a.bias == 0 && params_of(m, find(m, "conv2d")) == 4 * 4 * 9,
          "use_bias=False");
    CHECK(same_shape(on_model_output_shape(m), 1, 3, 1, 1), "output (3)");
    on_model_free(m);
}

static void test_python_features(void) {
    const char *text =
        "\"\"\"A docstring.\"\"\"\n"
        "import numpy as np  # a comment\n"
        "from tensorflow.keras import layers as L, Sequential\n"
        "num_classes = 10\n"
        "input_shape = (28, 28) + (1,)\n"
        "filters = [16, 32]\n"
        "rate = 0.25\n"
        "(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()\n"
        "x_train = x_train.reshape(-1, 28, 28, 1).astype('float32') / 255\n"
        "np.random.seed(1)\n"
        "model = Sequential(name='demo')\n"
        "model.add(L.Conv2D(filters[0], (3, 3), padding='same',\n"
        "                   kernel_initializer='he_normal',\n"
        "                   kernel_regularizer=keras.regularizers.l2(1e-4),\n"
        "                   input_shape=input_shape))\n"
        "model.add(L.Conv2D(filters[-1] * 2 // 2, kernel_size=3, \\\n"
        "                   strides=2)); model.add(L.Dropout(rate))\n"
        "model.add(L.Flatten())\n"
        "model.add(L.Dense(units=num_classes, activation=None))\n"
        "if __name__ == '__main__':\n"
        "    model.fit(x_train, y_train, epochs=5, callbacks=[EarlyStopping(patience=2)])\n"
        "    print(model.summary())\n";
    on_model *m = read(text, NULL, 0);
    CHECK(m, "constants, comments, imports, continuations, ignored calls");
    if (!m) return;
    CHECK(m->nodes[1].a.units == 16 && m->nodes[1].a.pad_mode == ON_PAD_SAME, "filters[0], same");
    CHECK(m->nodes[2].a.units == 32 && m->nodes[2].a.sh == 2 && m->nodes[2].a.kh == 3,
          "filters[-1]*2//2, strides=2");
    CHECK(same_shape(m->nodes[2].ys, 3, 32, 13, 13), "valid stride 2: 28 -> 13");
    CHECK(fabsf(m->nodes[3].a.rate - 0.25f) < 1e-7f, "Dropout(rate)");
    CHECK(same_shape(on_model_output_shape(m), 1, 10, 1, 1) && m->nn == 6,
          "Dense(units=num_classes)");
    CHECK(!*on_model_notes(m), "no notes: %s", on_model_notes(m));
    on_model_free(m);
}

static void test_arguments(void) {
    const char *kw = "x = Input(shape=(9, 9, 2))\n"
                     "x = Conv2D(filters=8, kernel_size=(3, 1), strides=(2, 1), padding='same', "
                     "dilation_rate=1,\n"
                     "           use_bias=False)(x)\n";
    const char *pos =
        "x = Input((9, 9, 2))\nx = Conv2D(8, (3, 1), (2, 1), 'same', None, 1, 1, None, False)(x)\n";
    on_model *a = read(kw, NULL, 0), *b = read(pos, NULL, 0);
    CHECK(a && b && same_model(a, b), "keyword and positional arguments give the same layer");
    if (a) {
        const on_attrs *t = &a->nodes[1].a;
        CHECK(t->kh == 3 && t->kw == 1 && t->sh == 2 && t->sw == 1 && !t->bias &&
                  t->pad_mode == ON_PAD_SAME,
              "conv attrs");
        CHECK(same_shape(a->nodes[1].ys, 3, 8, 5, 9), "same, strides (2,1): (5, 9)");
    }
    on_model_free(a);
    on_model_free(b);

    on_model *m = read("x = Input(shape=(16, 16, 4))\n"
                       "a = Conv2D(4, 3)(x)\n"
                       "b = MaxPooling2D(3, 1, 'same')(a)\n"
                       "c = AveragePooling2D(pool_size=2, padding='same')(b)\n"
                       "d = BatchNormalization(momentum=0.9, epsilon=1e-5, axis=-1)(c)\n"
                       "e = LeakyReLU()(d)\n"
                       "f = ReLU(max_value=6)(e)\n"
                       "g = ReLU(negative_slope=0.1)(f)\n"
                       "h = Activation('leaky_relu')(g)\n"
                       "i = ELU(alpha=0.5)(h)\n"
                       "j = PReLU(shared_axes=[1, 2])(i)\n"
                       "k = Conv2D(4, 3, activation='swish')(j)\n"
                       "l = AvgPool2D()(k)\n"
                       "y = GlobalAveragePooling2D()(l)\n",
                       NULL, 0);
    CHECK(m, "layer zoo reads");
    if (m) {
        const on_node *n = m->nodes;
        CHECK(n[1].a.sh == 1 && n[1].a.pad_mode == ON_PAD_VALID && n[1].a.bias && n[1].a.dh == 1,
              "Conv2D defaults");
        CHECK(n[2].a.kh == 3 && n[2].a.sh == 1 && n[2].a.pad_mode == ON_PAD_SAME,
              "MaxPooling2D(3, 1, 'same')");
        CHECK(n[3].op == on_op_find("avgpool2d") && n[3].a.count_include_pad == 0 && n[3].a.sh == 0,
              "Keras 'same' average pooling leaves the padding out");
        CHECK(fabsf(n[4].a.momentum - 0.1f) < 1e-7f && fabsf(n[4].a.eps - 1e-5f) < 1e-10f,
              "BN momentum 0.9 -> 0.1");
        CHECK(n[5].op == on_op_find("leaky_relu") && fabsf(n[5].a.alpha - 0.3f) < 1e-7f,
              "LeakyReLU default 0.3");
        CHECK(n[6].op == on_op_find("hardtanh") && n[6].a.lo == 0 && n[6].a.hi == 6,
              "ReLU(max_value=6) -> hardtanh(0,6)");
        CHECK(n[7].op == on_op_find("leaky_relu") && fabsf(n[7].a.alpha - 0.1f) < 1e-7f,
              "ReLU(negative_slope)");
        CHECK(n[8].op == on_op_find("leaky_relu") && fabsf(n[8].a.alpha - 0.2f) < 1e-7f,
              "'leaky_relu' is 0.2");
        CHECK(n[9].op == on_op_find("elu") && n[9].a.alpha == 0.5f, "ELU(alpha)");
        CHECK(n[10].op == on_op_find("prelu") && params_of(m, 10) == 4,
              "PReLU shared over H, W: 4");
        CHECK(n[12].op == on_op_find("silu"), "swish -> silu");
        CHECK(n[13].op == on_op_find("avgpool2d") && same_shape(n[13].ys, 3, 4, 2, 2),
              "AvgPool2D() 5 -> 2");
        CHECK(same_shape(n[14].ys, 1, 4, 1, 1), "GlobalAveragePooling2D -> (4)");
    }
    on_model_free(m);
    m = read("inp = Input(shape=(20, 3))\nx = Convolution1D(nb_filter=8, filter_length=3, "
             "border_mode='same')(inp)\n"
             "x = MaxPooling1D(pool_length=4)(x)\n",
             NULL, 0);
    CHECK(m && same_shape(m->nodes[1].ys, 2, 8, 1, 20) && same_shape(m->nodes[2].ys, 2, 8, 1, 5),
          "Keras 1 keyword names");
    on_model_free(m);
    m = read("model = Sequential([Dense(64, input_dim=784, activation='relu'), Dropout(0.5), "
             "Dense(10, activation='softmax')])\n",
             NULL, 0);
    CHECK(m && same_shape(m->input, 1, 784, 1, 1) && m->np == 784 * 64 + 64 + 650,
          "input_dim, MLP params");
    on_model_free(m);
}

static void test_head_and_override(void) {
    char buf[256];
    on_model *m = read("inp = Input(shape=(28, 28, 1))\nx = Conv2D(8, 3)(inp)\n", NULL, 10);
    CHECK(m, "head on a conv model");
    if (m) {
        CHECK(!strcmp(ops(m, buf, sizeof buf), "conv2d flatten dense"),
              "flatten + dense appended: %s", buf);
        CHECK(same_shape(on_model_output_shape(m), 1, 10, 1, 1) &&
                  m->np == 80 + 26 * 26 * 8 * 10 + 10,
              "head params");
        CHECK(strstr(on_model_notes(m),
                     "added a classifier head for 10 classes, because the model ended in conv2d "
                     "'conv2d' (None, 26, 26, 8), not in a dense layer with 10 outputs: flatten "
                     "'flatten' -> (None, 5408), dense 'dense' -> (None, 10)"),
              "head note: %s", on_model_notes(m));
    }
    on_model_free(m);
    m = read("model = Sequential([Input((4, 3)), GlobalAveragePooling1D()])\n", NULL, 10);
    CHECK(m && !strcmp(ops(m, buf, sizeof buf), "global_avgpool dense") &&
              !strcmp(m->nodes[2].name, "dense"),
          "flat output without a classifier: dense only");
    on_model_free(m);
    on_error err;
    CHECK(!on_model_from_text("model = Sequential([Input((4,)), Dense(32)])\n", "m.py", NULL, 10,
                              &err) &&
              strstr(err.msg, "m.py: the data has 10 classes but the model's classifier, dense "
                              "'dense', has 32 outputs"),
          "class count mismatch: %s", err.msg);
    m = on_model_from_text("model = Sequential([Input((4,)), Dense(1, activation='sigmoid')])\n",
                           "m.py", NULL, 2, &err);
    CHECK(m && m->nn == 3 && !strstr(on_model_notes(m), "head"),
          "binary classifier for 2 classes: trained as written (binary cross-entropy)");
    on_model_free(m);
    CHECK(!on_model_from_text("model = Sequential([Input((4,)), Dense(1, activation='sigmoid')])\n",
                              "m.py", NULL, 3, &err) &&
              strstr(err.msg, "the data has 3 classes but the model is a binary classifier") &&
              strstr(err.msg, "2 classes"),
          "binary classifier on 3 classes: %s", err.msg);
    m = read("model = Sequential([Input((4,)), Dense(1, activation='sigmoid')])\n", NULL, 0);
    CHECK(m && m->nn == 3 && m->np == 5 && !strstr(on_model_notes(m), "head"),
          "binary classifier as written");
    on_model_free(m);
    m = read("model = Sequential([Input((4,)), Dense(19), Dropout(0.5), Activation('relu')])\n",
             NULL, 19);
    CHECK(m && m->nn == 4 && !strstr(on_model_notes(m), "head"), "19 classes: no head");
    on_model_free(m);
    m = read("model = Sequential([Input((4,)), Dense(10, activation='softmax')])\n", NULL, 10);
    CHECK(m && m->nn == 2 && !strstr(on_model_notes(m), "head") &&
              strstr(on_model_notes(m), "softmax"),
          "already ends in dense(10): no head");
    on_model_free(m);
    m = read("input(28,28,1) conv2d(4,3) relu", NULL, 10);
    CHECK(m && m->nn == 5 && strstr(on_model_notes(m), "classifier head"),
          "head on the compact form");
    on_model_free(m);

    on_shape rgb = {3, 3, 32, 32};
    m = read("inp = Input(shape=(28, 28, 1))\nx = Conv2D(8, 3)(inp)\n", &rgb, 0);
    CHECK(m && same_shape(m->input, 3, 3, 32, 32) && params_of(m, 1) == 8 * 27 + 8,
          "input override");
    CHECK(m &&
              strstr(on_model_notes(m),
                     "input shape (None, 32, 32, 3) given to the reader replaces (None, 28, 28, 1) "
                     "declared at model.py:1:7"),
          "override note: %s", m ? on_model_notes(m) : "");
    on_model_free(m);
    m = read("model = Sequential([Conv2D(8, 3), Flatten(), Dense(10)])", &rgb, 0);
    CHECK(m && same_shape(m->nodes[1].ys, 3, 8, 30, 30),
          "Sequential without input: the override gives it");
    on_model_free(m);
    m = read("input(28,28,1) conv2d(8,3)", &rgb, 0);
    CHECK(m && same_shape(m->input, 3, 3, 32, 32) &&
              strstr(on_model_notes(m), "replaces input(28,28,1)"),
          "compact form: override replaces input(...)");
    on_model_free(m);
    m = read("conv2d(8,3) relu maxpool", &rgb, 0);
    CHECK(m && m->nn == 4, "compact form without input(...) and an override");
    on_model_free(m);
    m = read(
        "  input(28,28,1)\n  conv2d(32,3,same) bn relu | maxpool dropout(0.2) flatten dense(10)\n",
        NULL, 0);
    CHECK(m && m->nn == 8 && m->np == 320 + 64 + 62730, "compact form through on_model_from_text");
    on_model_free(m);
}

static void test_names(void) {
    on_model *m = read("x = Input((4,), name='features')\n"
                       "y = Dense(4, name='dense_1')(x)\n"
                       "y = Dense(4)(y)\n"
                       "y = Dense(4)(y)\n"
                       "y = BatchNormalization(name=None)(y)\n",
                       NULL, 0);
    CHECK(m && !strcmp(m->nodes[0].name, "features") && !strcmp(m->nodes[2].name, "dense") &&
              !strcmp(m->nodes[3].name, "dense_2") &&
              !strcmp(m->nodes[4].name, "batch_normalization"),
          "Keras-style unique names around a given one");
    on_model_free(m);
}

static void test_graph_selection(void) {
    on_model *m = read("inp = Input(shape=(10,))\n"
                       "a = Dense(5)(inp)\n"
                       "side = Dense(7)(a)\n"
                       "b = Dense(3)(a)\n"
                       "model = Model(inp, b)\n",
                       NULL, 0);
    CHECK(m && m->nn == 3 && find(m, "dense_1") < 0 && find(m, "dense_2") == 2,
          "unused branch left out");
    CHECK(m && strstr(on_model_notes(m),
                      "left out 1 layer that does not lead to the model's output: dense_1"),
          "note: %s", m ? on_model_notes(m) : "");
    on_model_free(m);
    m = read("m1 = Sequential([Input((3,)), Dense(4)])\nm2 = Sequential([Input((3,)), Dense(5), "
             "Dense(6)])\n",
             NULL, 0);
    CHECK(m && m->nn == 3 &&
              strstr(on_model_notes(m),
                     "the code defines 2 models; ordnet read the last one, at model.py:2:6"),
          "two models: the last one");
    on_model_free(m);
}

static void test_summary(void) {
    on_error err;
    on_model *m = on_model_from_file("../examples/fashion_mnist.py", NULL, 0, &err);
    if (!m) {
        CHECK(0, "%s", err.msg);
        return;
    }
    char *s = on_model_summary(m, 0);
    CHECK(s, "summary text");
    if (s) {
        CHECK(strstr(s, "Total params: 50,570 (197.54 KB)"), "total params");
        CHECK(strstr(s, "Trainable params: 50,378"), "trainable params");
        CHECK(strstr(s, "Non-trainable params: 192"), "non-trainable params");
        CHECK(strstr(s, "(None, 28, 28, 32)") && strstr(s, "(None, 7, 7, 64)") &&
                  strstr(s, "(None, 3136)"),
              "Keras-style output shapes");
        CHECK(strstr(s, "conv2d_1") && strstr(s, "18,496"), "conv2d_1 with 18,496 parameters");
        CHECK(strstr(s, "Notes:\n  - softmax at"), "notes shown");
        CHECK(strstr(s, "Total FLOPs: "), "FLOPs total");
    }
    free(s);
    s = on_model_summary(m, 1);
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    CHECK(j, "summary JSON parses");
    if (j) {
        cJSON *layers = cJSON_GetObjectItem(j, "layers");
        CHECK(cJSON_IsArray(layers) && cJSON_GetArraySize(layers) == 13,
              "13 layers with the input");
        cJSON *conv = cJSON_GetArrayItem(layers, 1),
              *shape = cJSON_GetObjectItem(conv, "output_shape");
        CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(conv, "name")), "conv2d") &&
                  !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(conv, "type")), "conv2d"),
              "name, type");
        CHECK(cJSON_GetArraySize(shape) == 3 && cJSON_GetArrayItem(shape, 0)->valueint == 28 &&
                  cJSON_GetArrayItem(shape, 2)->valueint == 32,
              "output_shape channels last");
        CHECK(cJSON_GetObjectItem(conv, "params")->valuedouble == 320, "conv params 320");
        /* 28*28*32 outputs, 9 MACs each + bias: 2*9*25088 + 25088 */
        CHECK(cJSON_GetObjectItem(conv, "flops")->valuedouble == 2.0 * 9 * 25088 + 25088,
              "conv flops");
        CHECK(cJSON_GetObjectItem(cJSON_GetArrayItem(layers, 2), "params")->valuedouble == 128,
              "bn params 128");
        CHECK(cJSON_GetObjectItem(j, "total_params")->valuedouble == 50570, "total_params");
        CHECK(cJSON_GetObjectItem(j, "trainable_params")->valuedouble == 50378, "trainable_params");
        CHECK(cJSON_GetObjectItem(j, "total_flops")->valuedouble > 7e6, "total_flops");
        cJSON *notes = cJSON_GetObjectItem(j, "notes");
        CHECK(cJSON_IsArray(notes) && cJSON_GetArraySize(notes) == 1, "notes array");
    }
    cJSON_Delete(j);
    free(s);
    on_model_free(m);
    m = read("x = Input((4, 4, 2))\ny = Conv2D(2, 1)(x)\nz = Add()([x, y])\n", NULL, 0);
    s = m ? on_model_summary(m, 0) : NULL;
    CHECK(s && strstr(s, "Connected to") && strstr(s, "input, conv2d"),
          "a graph shows what feeds each layer");
    free(s);
    on_model_free(m);
}

/* Bad inputs: the exact position and a useful message. */
static void test_errors(void) {
    static const struct {
        const char *text, *where, *what;
    } bad[] = {
        {"inp = Input(shape=(28, 28, 1))\nx = Conv3D(32, 3)(inp)\n",
         "model.py:2:5: ", "unknown layer 'Conv3D'"},
        {"inp = Input(shape=(28, 28, 1))\nx = Conv2D(32, 3, paddin='same')(inp)\n",
         "model.py:2:19: ", "Conv2D has no argument 'paddin' (did you mean 'padding'?)"},
        {"inp = Input(shape=(28, 28, 1))\nx = Conv2D(32,\n   3(inp)\n",
         "model.py:2:11: ", "'(' is never closed"},
        {"inp = Input(shape=(28, 28, 1))\nx = Conv2D(32, 3)(y)\n",
         "model.py:2:19: ", "undefined variable 'y'"},
        {"inp = Input(shape=(28, 28, 1))\nx = Conv2D(32, 3)(inp)\nx = Dense(10)(x)\n",
         "model.py:3:5: ",
         "layer 'dense' (Dense) needs a flat input (None, features), got (None, 26, 26, 32) from "
         "'conv2d': add Flatten()"},
        {"inp = Input(shape=(28, 28, 1))\nx = Conv2D('32', 3)(inp)\n", "model.py:2:12: ",
         "Conv2D's filters must be an integer from 1 to 1000000, got the string '32'"},
        {"model = Sequential([\n  Input((8,)),\n  Dense(4, activation='softmax'),\n  "
         "Dense(2),\n])\n",
         "model.py:3:23: ", "softmax in the middle of the model (Dense at 4:3 comes after it)"},
        {"x = Input(shape=(8, 8, 1))\nx = Conv2D(4, 3, activation='swishy')(x)\n",
         "model.py:2:29: ", "unknown activation 'swishy' (did you mean 'swish'?)"},
        {"x = Input(shape=(3, 8, 8))\nx = Conv2D(4, 3, data_format='channels_first')(x)\n"
         "x = Conv2D(4, 3, data_format='channels_last')(x)\n",
         "model.py:3:30: ", "data_format='channels_last', but the code is read channels-first"},
        {"model = Sequential([Conv2D(32, 3), Flatten(), Dense(10)])\n",
         "model.py:1:9: ", "this Sequential model has no input shape"},
        {"inp = Input(shape=(None, 16))\nx = Flatten()(inp)\nx = Dense(2)(x)\n", "model.py:1:19: ",
         "has a dimension None: ordnet needs fixed sizes, and this model's parameter count "
         "depends on it (8194 with 256, 10242 with 320"},
        {"x = Input(shape=(8, 8, 1))\nx = Conv2D(4, 9)(x)\n", "model.py:2:5: ", "window 9x9"},
        {"x = Input(shape=(8,))\nfor i in range(10**12):\n    x = Dense(10)(x)\n",
         "model.py:2:10: ", "range() of 1000000000000 items"},
        {"x = Input(shape=(8,))\nd = Dense(4)\ny = d(x)\nz = d(y)\n", "model.py:2:5: ",
         "layer 'dense_1' shares the weights of 'dense' (dense), but its input "
         "(4) needs weights of other shapes"},
        {"x = Input(shape=(8, 8, 1))\ny = Conv2D(4, 3, 3)(x)\n",
         "model.py:2:18: ", "the third positional argument is strides"},
        {"x = Input(shape=(8, 8, 1))\ny = BatchNormalization(momentum=1.5)(x)\n",
         "model.py:2:33: ", "momentum must be a number from 0 to 1, got 1.5"},
        {"x = Input(shape=(8, 8, 1))\ny = layers.Concatenate(axis=0)([x, x])\n",
         "model.py:2:12: ", "Concatenate(axis=0) on inputs of 4 dimensions"},
        {"x = Input(shape=(8, 8, 1))\ny = PReLU()(x)\n",
         "model.py:2:5: ", "write PReLU(shared_axes=[1, 2])"},
        {"x = Input(shape=(8, 8, 1))\ny = Activation(\xe2\x80\x98relu\xe2\x80\x99)(x)\n",
         "model.py:2:16: ", "typographic quotes?"},
        {"x = Input(shape=(8, 8, 1))\n\ty = Conv2D(4, 3, padding='causal')(x)\n",
         "model.py:2:27: ", "padding='causal'"},
        {"a = Input((4,))\nb = Input((4,))\nm = Model([a, b], Add()([a, b]))\nx = Input((4,))\n"
         "y = m(x)\n",
         "model.py:5:6: ", "this Model has 2 inputs: ordnet calls models of one input as layers"},
        {"x = Input(shape=(4,))\ny = Dense(4)(x)\ny = Dense(4)(y\n",
         "model.py:3:13: ", "'(' is never closed"},
        {"x = Input(shape=(4,))\ny = Dense(4)(x))\n", "model.py:2:16: ", "unmatched ')'"},
        {"x = Input(shape='big')\n",
         "model.py:1:17: ", "must be a tuple such as (28, 28, 1), got the string 'big'"},
        {"x = Input(shape=(4,))\ny = Dense(units=4, units=5)(x)\n",
         "model.py:2:20: ", "Dense got 'units' twice"},
        {"class Net(keras.Model):\n    pass\n", "model.py:1:1: ", "subclassed models"},
        {"import sys\nx = Input(shape=(4,))\ny = Dense(4)(x) if len(sys.argv) > 1 else x\n",
         "model.py:3:20: ", "the condition 'len(sys.argv) > 1' depends on a value ordnet does not"},
        {"input(28,28,1) conv2d(32,3)\n  flaten dense(10)",
         "model.py:2:3: ", "unknown layer 'flaten'"},
        {"x = Input(shape=(4,))\ny = 'abc\n", "model.py:2:5: ", "unterminated string"},
        {"", "model.py:1:1: ", "a model must start with input(...)"},
        {"input(28,28,1) conv2d(1e12,3)", "model.py:1:23: ", "number '1e12' is out of range"},
        {"input(16,16,3) bn\n conv2d(32,3433,same)", "model.py:2:2: ", "could bring the model to"},
        {"input(1000,1000,200) flatten bn",
         "model.py:1:30: ", "could bring the model to 800000000 parameters"},
        {"input(16,16,3) conv2d(4,1000,same,dilation=1000000)",
         "model.py:1:16: ", "a window wider than 1e8"},
        {"x = Input(shape=(28, 28, 1))\nx = Conv2D(10000, 4096, padding='same')(x)\n",
         "model.py:2:5: ", "would bring the model to 167772170000 parameters"},
        {"x = Input(shape=(4,))\ny = Dense(4)(x)\nz = Dense(4, name='dense')(y)\n",
         "model.py:3:5: ", "layer name 'dense' is used twice"},
        {"x = Input(shape=(4,))\n", "model.py:1:1: ", "no model found"},
        {"import keras\nm = keras.Sequential([keras.Input((4,))])\n",
         "model.py:2:11: ", "the model has no layers"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        on_error err;
        on_model *m = on_model_from_text(bad[i].text, "model.py", NULL, 0, &err);
        CHECK(!m, "bad input %zu is refused", i);
        if (m) {
            on_model_free(m);
            continue;
        }
        size_t wl = strlen(bad[i].where);
        CHECK(!strncmp(err.msg, bad[i].where, wl) && strstr(err.msg + wl, bad[i].what),
              "bad input %zu: got '%s', want '%s%s'", i, err.msg, bad[i].where, bad[i].what);
    }
    on_error err;
    CHECK(!on_model_from_file("../examples/no_such_file.py", NULL, 0, &err) &&
              strstr(err.msg, "no_such_file.py: cannot open"),
          "missing file: %s", err.msg);
    on_shape silly = {3, 0, 28, 28};
    CHECK(!on_model_from_text("input(28,28,1)", "m", &silly, 0, &err) &&
              !strncmp(err.msg, "m:1:1: the input shape given", 28),
          "invalid override: %s", err.msg);
    CHECK(!on_model_from_text("x = Input((8, 3))\ny = Conv1D(5, 3, activation='softmax')(x)\n", "m",
                              NULL, 10, &err) &&
              strstr(err.msg, "m:2:29: the softmax on 'conv1d' (None, 6, 5) cannot be folded"),
          "softmax before a head: %s", err.msg);
}

/* Loops, conditions, functions, formatting, nested models: the code as people write it. */
static void test_code_structure(void) {
    char buf[512];
    /* loops over lists and ranges, enumerate, f-strings, % and .format names, if / elif / else */
    on_model *m = read("from tensorflow import keras\nfrom tensorflow.keras import layers\n"
                       "inputs = keras.Input(shape=(32, 32, 3))\nx = inputs\n"
                       "for i, size in enumerate([8, 16, 32]):\n"
                       "    x = layers.Conv2D(size, 3, padding='same', name=f'conv_{i + 1}')(x)\n"
                       "    if size == 8:\n        x = layers.ReLU(name='relu_%d' % i)(x)\n"
                       "    elif size > 20:\n        x = layers.ELU(name='elu_{}'.format(i))(x)\n"
                       "    else:\n        continue\n"
                       "    x = layers.MaxPooling2D()(x)\n"
                       "for _ in range(2):\n    x = layers.Dropout(0.1)(x)\n"
                       "x = layers.GlobalAveragePooling2D()(x)\n"
                       "outputs = layers.Dense(10 if x.shape[-1] == 32 else 3)(x)\n"
                       "model = keras.Model(inputs, outputs)\n",
                       NULL, 0);
    CHECK(m && !strcmp(ops(m, buf, sizeof buf),
                       "conv2d relu maxpool2d conv2d conv2d elu maxpool2d dropout dropout "
                       "global_avgpool dense"),
          "loops and conditions: %s", m ? buf : "");
    CHECK(m && find(m, "conv_1") == 1 && find(m, "relu_0") == 2 && find(m, "conv_2") == 4 &&
              find(m, "elu_2") == 6 && same_shape(on_model_output_shape(m), 1, 10, 1, 1),
          "names made by f-strings, %% and .format; x.shape chose Dense(10)");
    on_model_free(m);
    /* functions with defaults calling functions, list append, tuple unpacking, layers.add */
    m = read("from tensorflow.keras import layers, Input, Model\n"
             "def block(x, f, n=2, act='relu'):\n"
             "    s = layers.Conv1D(f, 1, padding='same')(x)\n"
             "    for i in range(n - 1):\n"
             "        x = layers.Conv1D(f, 3, padding='same', activation=act)(x)\n"
             "    x = layers.Conv1D(f, 3, padding='same')(x)\n"
             "    return layers.add([x, s]), f * 2\n"
             "outs = []\ninp = Input((64, 1))\nx, f = block(inp, 4)\nouts.append(x)\n"
             "x, f = block(x, f, n=3)\nouts.append(x)\n"
             "y = layers.Concatenate(axis=-1)([outs[0], layers.Conv1D(4, 1)(outs[1])])\n"
             "model = Model(inp, layers.Flatten()(y))\n",
             NULL, 0);
    CHECK(m && m->nn == 16 && same_shape(on_model_output_shape(m), 1, 64 * 8, 1, 1),
          "functions, append, unpacking, add and concatenate: %s",
          m ? ops(m, buf, sizeof buf) : "");
    on_model_free(m);
    /* a Sequential used as a layer, and one inside another Sequential */
    m = read(
        "import keras\nfrom keras import layers\n"
        "aug = keras.Sequential([layers.RandomFlip('horizontal'), layers.RandomRotation(0.1)])\n"
        "head = keras.Sequential([layers.Flatten(), layers.Dense(10)])\n"
        "inp = keras.Input((8, 8, 1))\nx = aug(inp)\nx = layers.Conv2D(4, 3)(x)\n"
        "out = head(x)\nmodel = keras.Model(inp, out)\n",
        NULL, 0);
    CHECK(
        m && !strcmp(ops(m, buf, sizeof buf), "random_flip random_rotation conv2d flatten dense") &&
            !strstr(on_model_notes(m), "identity") && !strstr(on_model_notes(m), "defines"),
        "Sequential models applied as layers: %s", m ? buf : "");
    on_model_free(m);
    m = read("import keras\nfrom keras import layers\n"
             "base = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, 3)])\n"
             "model = keras.Sequential([base, layers.Flatten(), layers.Dense(2)])\n",
             NULL, 0);
    CHECK(m && !strcmp(ops(m, buf, sizeof buf), "conv2d flatten dense") && m->np == 40 + 145 * 2 &&
              same_shape(m->input, 3, 1, 8, 8),
          "a Sequential inside a Sequential: %s np %zu", m ? buf : "", m ? m->np : 0);
    on_model_free(m);
    /* Keras 1 and channels-first code */
    m = read("from keras.models import Sequential\nfrom keras.layers import *\n"
             "model = Sequential()\n"
             "model.add(Convolution2D(8, 3, 3, border_mode='same', subsample=(2, 2), "
             "input_shape=(3, 16, 16), init='he_normal', W_regularizer=None))\n"
             "model.add(BatchNormalization(axis=1, mode=0))\n"
             "model.add(MaxPooling2D(pool_size=(2, 2), dim_ordering='th'))\n"
             "model.add(Flatten())\nmodel.add(Dense(output_dim=2))\n",
             NULL, 0);
    CHECK(m && same_shape(m->input, 3, 3, 16, 16) && params_of(m, 1) == 8 * 27 + 8 &&
              same_shape(m->nodes[1].ys, 3, 8, 8, 8) && params_of(m, 2) == 32 &&
              params_of(m, 5) == 8 * 4 * 4 * 2 + 2 && strstr(on_model_notes(m), "channels-first") &&
              strstr(on_model_notes(m), "Keras 1"),
          "Keras 1, channels first: %s", m ? on_model_notes(m) : "");
    on_model_free(m);
    m = read("from keras.layers import Convolution1D, Dense, Flatten, Input\n"
             "from keras.models import Model\nfrom keras.layers import merge\n"
             "x = Input(shape=(50, 8))\na = Convolution1D(nb_filter=4, filter_length=3, "
             "border_mode='same')(x)\nb = Convolution1D(4, 5, border_mode='same')(x)\n"
             "y = merge([a, b], mode='concat')\nmodel = Model(x, Flatten()(y))\n",
             NULL, 0);
    CHECK(m && same_shape(on_model_output_shape(m), 1, 400, 1, 1) &&
              params_of(m, 1) == 3 * 8 * 4 + 4 && params_of(m, 2) == 5 * 8 * 4 + 4,
          "Keras 1 Convolution1D keywords and merge(mode='concat')");
    on_model_free(m);
    /* Keras 1's Model(input=, output=); both spellings at once is a located error */
    m = read("from keras.layers import Input, Dense\nfrom keras.models import Model\n"
             "x = Input(shape=(6,))\ny = Dense(3)(x)\nmodel = Model(input=x, output=y)\n",
             NULL, 0);
    CHECK(m && params_of(m, 1) == 6 * 3 + 3, "Keras 1 Model(input=, output=)");
    on_model_free(m);
    {
        on_error err;
        m = on_model_from_text("from keras.layers import Input, Dense\n"
                               "from keras.models import Model\nx = Input(shape=(6,))\n"
                               "y = Dense(3)(x)\nmodel = Model(inputs=x, input=x, outputs=y)\n",
                               "model.py", NULL, 0, &err);
        CHECK(!m && strstr(err.msg, "model.py:5:") && strstr(err.msg, "both inputs="),
              "Model(inputs=, input=) is refused at the second: %s", m ? "read" : err.msg);
        on_model_free(m);
    }
    /* depthwise, separable and transposed convolutions count as Keras does */
    m = read("from keras import layers, Input, Model\ni = Input((16, 16, 8))\n"
             "x = layers.DepthwiseConv2D(3, depth_multiplier=2)(i)\n"
             "x = layers.SeparableConv2D(12, 3, use_bias=False)(x)\n"
             "x = layers.Conv2DTranspose(4, 3, strides=2, padding='same')(x)\n"
             "x = layers.Conv2D(4, 3, groups=2)(x)\nmodel = Model(i, x)\n",
             NULL, 0);
    CHECK(m && params_of(m, 1) == 9 * 16 + 16 &&
              params_of(m, 2) + params_of(m, 3) == 9 * 16 + 16 * 12 &&
              params_of(m, 4) == 9 * 12 * 4 + 4 && params_of(m, 5) == 9 * 2 * 4 + 4,
          "depthwise / separable / transposed / grouped parameter counts");
    on_model_free(m);
}

/* Runaway code is refused quickly with a located error. */
static void test_bounds(void) {
    static const struct {
        const char *text, *where, *what;
    } bad[] = {
        {"x = 0\nfor i in range(10**12):\n    x = x + 1\n", "b.py:2:10: ", "range() of"},
        {"x = 0\nfor i in range(90000):\n    for j in range(90000):\n        x = x + 1\n",
         "b.py:", "more than 100000 statements"},
        {"def f(n):\n    return f(n + 1)\nf(0)\n", "b.py:2:13: ", "nested deeper than"},
        {"s = 'ab'\nfor i in range(40):\n    s = s + s\n", "b.py:3:11: ", "a string longer than"},
        {"a = [1]\nfor i in range(40):\n    a = a + a\n", "b.py:3:11: ", "too many items"},
        {"import sys\nif len(sys.argv) > 1:\n    pass\n", "b.py:2:4: ", "depends on a value"},
        {"while True:\n    pass\n", "b.py:1:1: ", "'while' loops are not supported"},
        {"break\n", "b.py:1:1: ", "'break' outside a loop"},
        {"from keras import layers\nx = layers.Lambda(lambda t: t * 2)\n",
         "b.py:2:12: ", "Lambda layers run any Python"},
        {"import keras\nclass Block(keras.layers.Layer):\n    pass\n",
         "b.py:2:1: ", "custom layers and subclassed models"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        on_error err;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        on_model *m = on_model_from_text(bad[i].text, "b.py", NULL, 0, &err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        CHECK(!m && !strncmp(err.msg, bad[i].where, strlen(bad[i].where)) &&
                  strstr(err.msg, bad[i].what),
              "bounded %zu: got '%s', want '%s...%s'", i, m ? "a model" : err.msg, bad[i].where,
              bad[i].what);
        /* not a speed test (about 0.07 s each in a release build, 3.6 s under valgrind):
         * the bound must stop the evaluator at all, where a runaway loop would take hours */
        const double limit = 60.0;
        CHECK(s < limit, "bounded %zu refused in %.2f s (limit %.0f s)", i, s, limit);
        on_model_free(m);
    }
}

int main(void) {
    test_code_structure();
    test_bounds();
    test_thread_blocks();
    test_fashion_mnist();
    test_three_styles();
    test_residual_and_functions();
    test_python_features();
    test_arguments();
    test_head_and_override();
    test_graph_selection();
    test_names();
    test_summary();
    test_errors();
    return check_done();
}
