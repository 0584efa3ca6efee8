/* test_keras_args.c - the Keras reader's argument table and what round 2 added to it: frozen
 * layers (trainable=False and layer.trainable = False) counted non-trainable by the summary,
 * regularizers into on_attrs.reg_l1 / reg_l2, Permute onto the permute op (channels-last axes
 * turned into ordnet's), weights= read with a note, and refusals with file:line:col.
 * Counts are worked out by hand in the comments. Runs in tests/. */
#include "check.h"
#include "graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static on_model *read(const char *text) {
    on_error err;
    on_model *m = on_model_from_text(text, "model.py", NULL, 0, &err);
    if (!m) printf("unexpected error: %s\n", err.msg);
    return m;
}

/* The number after "key": in the summary's JSON (the model's own: the last one). */
static double json_num(const on_model *m, const char *key) {
    char *js = on_model_summary(m, 1), k[64];
    double v = -1;
    snprintf(k, sizeof k, "\"%s\":", key);
    for (const char *q = js ? strstr(js, k) : NULL; q; q = strstr(q + 1, k))
        v = strtod(q + strlen(k), NULL);
    free(js);
    return v;
}

static int node_of(const on_model *m, const char *name) {
    for (int i = 0; i < m->nn; i++)
        if (!strcmp(m->nodes[i].name, name)) return i;
    return -1;
}

static void refused(const char *text, const char *where, const char *what) {
    on_error err;
    on_model *m = on_model_from_text(text, "model.py", NULL, 0, &err);
    CHECK(!m && !strncmp(err.msg, where, strlen(where)) && strstr(err.msg, what),
          "refused at %s with '%s'; got %s", where, what, m ? "a model" : err.msg);
    on_model_free(m);
}

static void test_frozen(void) {
    /* Embedding(100, 8): 800 frozen; Conv1D(4, 3) on 8 channels: 8*3*4 + 4 = 100;
     * BatchNormalization(4): 8 trainable + 8 state; Dense(1) on 4*8 = 32: 33 */
    const char *code = "from keras.models import Sequential\n"
                       "from keras.layers import *\n"
                       "model = Sequential()\n"
                       "model.add(Embedding(100, 8, input_length=10, trainable=False))\n"
                       "model.add(Conv1D(4, 3))\n"
                       "model.add(BatchNormalization())\n"
                       "model.add(Flatten())\n"
                       "model.add(Dense(1, activation='sigmoid'))\n";
    on_model *m = read(code);
    CHECK(m, "a frozen Embedding is read");
    if (m) {
        CHECK(json_num(m, "total_params") == 800 + 100 + 16 + 33, "total 949 (got %.0f)",
              json_num(m, "total_params"));
        CHECK(json_num(m, "trainable_params") == 100 + 8 + 33, "trainable 141 (got %.0f)",
              json_num(m, "trainable_params"));
        CHECK(json_num(m, "non_trainable_params") == 800 + 8, "non-trainable 808 (got %.0f)",
              json_num(m, "non_trainable_params"));
        int e = node_of(m, "embedding");
        CHECK(e > 0 && m->nodes[e].a.frozen, "the embedding node is frozen");
        CHECK(!m->nodes[node_of(m, "conv1d")].a.frozen, "the convolution is not");
        on_model_free(m);
    }
    /* the statement form, after the layer is applied, and True again */
    m = read("from keras.layers import Input, Dense\nfrom keras.models import Model\n"
             "inp = Input(shape=(4,))\nd1 = Dense(3)\nx = d1(inp)\nd2 = Dense(2)\ny = d2(x)\n"
             "d1.trainable = False\nd2.trainable = False\nd2.trainable = True\n"
             "model = Model(inp, y)\n");
    CHECK(m, "layer.trainable = False is read");
    if (m) {
        CHECK(json_num(m, "non_trainable_params") == 15 && json_num(m, "trainable_params") == 8,
              "d1's 4*3+3 = 15 frozen, d2's 3*2+2 = 8 trainable (got %.0f / %.0f)",
              json_num(m, "non_trainable_params"), json_num(m, "trainable_params"));
        on_model_free(m);
    }
    /* a whole Sequential model frozen before it is built (its input comes with the first
     * layer): every layer */
    m = read("import keras\nbase = keras.Sequential()\nbase.add(keras.layers.Dense(3, "
             "input_shape=(4,)))\nbase.add(keras.layers.Dense(2))\nbase.trainable = False\n");
    CHECK(m && json_num(m, "trainable_params") == 0 && json_num(m, "non_trainable_params") == 23,
          "a frozen Sequential: 15 + 8 = 23 non-trainable");
    on_model_free(m);
    /* the transfer-learning loop: all but the last layer of a Sequential base frozen */
    m = read("import keras\nbase = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),\n"
             "    keras.layers.Dense(2), keras.layers.Dense(1)])\n"
             "for layer in base.layers[:-1]:\n    layer.trainable = False\n");
    CHECK(m && json_num(m, "non_trainable_params") == 23 && json_num(m, "trainable_params") == 3,
          "for layer in model.layers[:-1]: layer.trainable = False (got %.0f / %.0f)",
          m ? json_num(m, "non_trainable_params") : -1, m ? json_num(m, "trainable_params") : -1);
    on_model_free(m);
    /* Sequential(trainable=False): its layers as they are added; Model(trainable=False): the
     * layers that lead to its output */
    m = read("import keras\nbase = keras.Sequential([keras.layers.Dense(3, input_shape=(4,))],\n"
             "    trainable=False)\nbase.add(keras.layers.Dense(2))\n");
    CHECK(m && json_num(m, "non_trainable_params") == 23, "Sequential(trainable=False)");
    on_model_free(m);
    m = read("from keras.layers import Input, Dense\nfrom keras.models import Model\n"
             "inp = Input(shape=(4,))\nx = Dense(3)(inp)\ny = Dense(2)(x)\n"
             "model = Model(inp, y, trainable=False)\n");
    CHECK(m && json_num(m, "non_trainable_params") == 23 && json_num(m, "trainable_params") == 0,
          "Model(trainable=False)");
    on_model_free(m);
    m = read("from keras.layers import Input, Dense\nfrom keras.models import Model\n"
             "inp = Input(shape=(4,))\nx = Dense(3)(inp)\ny = Dense(2)(x)\n"
             "model = Model(inp, y)\nmodel.trainable = False\n");
    CHECK(m && json_num(m, "non_trainable_params") == 23, "model.trainable = False");
    on_model_free(m);
    refused("from keras.layers import Input, Dense\ninp = Input(shape=(4,))\nd = Dense(3)\n"
            "d.trainable = 'no'\n",
            "model.py:4:3: ", "trainable must be True or False");
    refused("from keras.layers import Input, Dense\nx = Input(shape=(4,))\n"
            "y = Dense(4, trainable=None)(x)\n",
            "model.py:3:24: ", "Dense's trainable must be True or False");
}

static void test_regularizers(void) {
    on_model *m =
        read("from keras import regularizers\nfrom keras.regularizers import l2\n"
             "from keras.layers import Input, Dense, Conv2D, Flatten, ActivityRegularization\n"
             "x = Input(shape=(8, 8, 1))\n"
             "x = Conv2D(4, 3, kernel_regularizer=regularizers.l1_l2(l1=0.001, l2=0.002),\n"
             "           bias_regularizer='l2', activity_regularizer=regularizers.L1(0.5),\n"
             "           activation='relu', name='c')(x)\n"
             "x = Flatten()(x)\n"
             "x = ActivityRegularization(l2=0.25, name='act')(x)\n"
             "x = Dense(2, W_regularizer=l2(0.005), b_regularizer=l2(), name='d')(x)\n");
    CHECK(m, "regularizers are read");
    if (m) {
        const on_attrs *c = &m->nodes[node_of(m, "c")].a;
        CHECK(fabsf(c->reg_l1[0] - 0.001f) < 1e-9f && fabsf(c->reg_l2[0] - 0.002f) < 1e-9f,
              "kernel l1 0.001, l2 0.002 (got %g %g)", c->reg_l1[0], c->reg_l2[0]);
        CHECK(c->reg_l1[1] == 0 && fabsf(c->reg_l2[1] - 0.01f) < 1e-9f, "bias 'l2' is 0.01");
        CHECK(c->reg_l1[2] == 0 && c->reg_l2[2] == 0,
              "the activity regularizer is not on the convolution (its output is before relu)");
        int r = node_of(m, "c") + 1;
        CHECK(!strcmp(m->nodes[r].op->name, "relu") && m->nodes[r].a.reg_l1[2] == 0.5f,
              "it is on the activation after it (Keras regularizes the layer's output)");
        const on_attrs *a = &m->nodes[node_of(m, "act")].a;
        CHECK(a->reg_l2[2] == 0.25f && a->reg_l1[2] == 0, "ActivityRegularization(l2=0.25)");
        const on_attrs *d = &m->nodes[node_of(m, "d")].a;
        CHECK(fabsf(d->reg_l2[0] - 0.005f) < 1e-9f && fabsf(d->reg_l2[1] - 0.01f) < 1e-9f,
              "Keras 1 W_regularizer=l2(0.005), b_regularizer=l2() (0.01)");
        /* no parameters: Conv2D 4*9+4 = 40, Dense 4*6*6*2+2 = 290 */
        CHECK(json_num(m, "total_params") == 330, "regularizers add no parameters (got %.0f)",
              json_num(m, "total_params"));
        on_model_free(m);
    }
    refused(
        "from keras import regularizers\nfrom keras.layers import Input, Dense\n"
        "x = Input(shape=(4,))\ny = Dense(2, kernel_regularizer=regularizers.l1_l2(l1=0.1))(x)\n",
        "model.py:4:46: ", "needs both l1= and l2=");
    m = read("import sys\nfrom mylib import my_reg\nfrom keras import regularizers\nfrom "
             "keras.layers import Input, Dense\n"
             "wd = float(sys.argv[1])\nx = Input(shape=(4,))\n"
             "y = Dense(2, kernel_regularizer=regularizers.l2(wd), name='a')(y if 0 else x)\n"
             "z = Dense(2, bias_regularizer=my_reg, name='b')(y)\n");
    CHECK(m &&
              strstr(on_model_notes(m), "the regularizer at model.py:7:33 is not a value ordnet "
                                        "computes") &&
              m->nodes[node_of(m, "a")].a.reg_l2[0] == 0,
          "a regularizer of the program's values is read without it, with a note: %s",
          m ? on_model_notes(m) : "");
    on_model_free(m);
    refused("from keras.layers import Input, Dense\nx = Input(shape=(4,))\n"
            "y = Dense(2, kernel_regularizer='l1_l2')(x)\n",
            "model.py:3:33: ", "Keras 2 and Keras 3 give it different factors");
    refused("from keras.layers import Input, Dense\nx = Input(shape=(4,))\n"
            "y = Dense(2, kernel_regularizer=0.01)(x)\n",
            "model.py:3:33: ", "must be a regularizer");
    refused("from keras import regularizers\nfrom keras.layers import Input, Dense\n"
            "x = Input(shape=(4,))\ny = Dense(2, kernel_regularizer=regularizers.l2(-1))(x)\n",
            "model.py:4:49: ", "l2's factor must be a number from 0");
}

static void test_permute(void) {
    /* (steps 10, channels 3) -> Permute((2, 1)) -> Keras (3, 10): ordnet stores (C=10, L=3) */
    on_model *m = read("from keras.layers import Input, Permute, Conv1D\n"
                       "x = Input(shape=(10, 3))\nx = Permute((2, 1))(x)\nx = Conv1D(2, 3)(x)\n");
    CHECK(m, "Permute((2, 1)) is read");
    if (m) {
        const on_node *p = &m->nodes[1];
        CHECK(!strcmp(p->op->name, "permute") && p->a.perm[0] == 1 && p->a.perm[1] == 0,
              "permute (1, 0) of (C, L)");
        CHECK(p->ys.rank == 2 && p->ys.c == 10 && p->ys.w == 3, "Keras's (None, 3, 10)");
        /* Conv1D(2, 3) over 10 channels: 10*3*2 + 2 = 62 */
        CHECK(json_num(m, "total_params") == 62, "62 parameters (got %.0f)",
              json_num(m, "total_params"));
        on_model_free(m);
    }
    /* (H 4, W 5, C 3) -> Permute((3, 1, 2)) -> Keras (3, 4, 5): ordnet (C=5, H=3, W=4) */
    m = read("from keras.layers import Input, Permute, Flatten, Dense\n"
             "x = Input(shape=(4, 5, 3))\nx = Permute((3, 1, 2))(x)\n");
    CHECK(m, "Permute((3, 1, 2)) is read");
    if (m) {
        const on_node *p = &m->nodes[1];
        CHECK(p->ys.rank == 3 && p->ys.c == 5 && p->ys.h == 3 && p->ys.w == 4,
              "Keras's (None, 3, 4, 5) (got c %d h %d w %d)", p->ys.c, p->ys.h, p->ys.w);
        CHECK(p->a.perm[0] == 2 && p->a.perm[1] == 0 && p->a.perm[2] == 1, "perm (2, 0, 1)");
        on_model_free(m);
    }
    refused("from keras.layers import Input, Permute\nx = Input(shape=(4, 5, 3))\n"
            "x = Permute((2, 1))(x)\n",
            "model.py:3:5: ", "Permute of 2 axes on (None, 4, 5, 3)");
    refused("from keras.layers import Input, Permute\nx = Input(shape=(4, 5, 3))\n"
            "x = Permute((2, 2, 1))(x)\n",
            "model.py:3:13: ", "a permutation of 1 to n");
    refused("from keras.layers import Input, Permute\nx = Input(shape=(4, 5, 3))\n"
            "x = Permute()(x)\n",
            "model.py:3:5: ", "Permute needs dims");
}

static void test_weights_note(void) {
    on_model *m = read("import numpy as np\nfrom keras.layers import Input, Embedding, Flatten\n"
                       "w = np.load('glove.npy')\nx = Input(shape=(5,))\n"
                       "x = Embedding(50, 4, weights=[w], trainable=False)(x)\n"
                       "x = Flatten()(x)\n");
    CHECK(m, "Embedding(weights=[...]) is read");
    if (m) {
        CHECK(strstr(on_model_notes(m), "weights= at model.py:5:30 ignored: initialized randomly"),
              "the notes say the weights are not loaded: %s", on_model_notes(m));
        CHECK(json_num(m, "non_trainable_params") == 200, "the 50*4 = 200 frozen values");
        on_model_free(m);
    }
}

static void test_preprocessing(void) {
    on_model *m = read(
        "import keras\nfrom keras import layers\n"
        "model = keras.Sequential([\n"
        "    keras.Input(shape=(32, 32, 3)),\n"
        "    layers.RandomFlip('horizontal', seed=7),\n"
        "    layers.RandomRotation(0.1, fill_mode='nearest'),\n"
        "    layers.RandomZoom(0.2, interpolation='nearest'),\n"
        "    layers.RandomZoom((-0.1, 0.3), width_factor=0.5, name='zoom2'),\n"
        "    layers.RandomTranslation(0.1, (-0.2, 0.3), fill_mode='constant', fill_value=0.5),\n"
        "    layers.RandomContrast(0.2, value_range=None),\n"
        "    layers.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.04, 0.09, 0.01]),\n"
        "    layers.Normalization(mean=2.0, variance=4.0, invert=True, name='inv'),\n"
        "    layers.Conv2D(8, 3),\n"
        "])\n");
    CHECK(m, "the preprocessing layers are read");
    if (!m) return;
    const on_attrs *a = &m->nodes[node_of(m, "random_flip")].a;
    CHECK(a->mode == ON_FLIP_HORIZONTAL && a->seed == 7, "RandomFlip('horizontal', seed=7)");
    a = &m->nodes[node_of(m, "random_rotation")].a;
    CHECK(a->range[0] == -0.1f && a->range[1] == 0.1f && a->fill == ON_FILL_NEAREST &&
              a->interp == ON_RESIZE_LINEAR,
          "RandomRotation(0.1): (-0.1, 0.1), nearest fill, bilinear");
    a = &m->nodes[node_of(m, "random_zoom")].a;
    CHECK(a->range[0] == -0.2f && a->range[1] == 0.2f && a->mode == 0 &&
              a->interp == ON_RESIZE_NEAREST && a->fill == ON_FILL_REFLECT,
          "RandomZoom(0.2): the width zooms as the height, reflect");
    a = &m->nodes[node_of(m, "zoom2")].a;
    CHECK(a->range[0] == -0.1f && a->range[1] == 0.3f && a->range[2] == -0.5f &&
              a->range[3] == 0.5f && a->mode == 1,
          "RandomZoom((-0.1, 0.3), width_factor=0.5)");
    a = &m->nodes[node_of(m, "random_translation")].a;
    CHECK(a->range[0] == -0.1f && a->range[1] == 0.1f && a->range[2] == -0.2f &&
              a->range[3] == 0.3f && a->fill == ON_FILL_CONSTANT && a->offset == 0.5f,
          "RandomTranslation(0.1, (-0.2, 0.3), constant 0.5)");
    a = &m->nodes[node_of(m, "random_contrast")].a;
    CHECK(a->range[0] == 0.2f && a->range[1] == 0.2f && isinf(a->lo) && isinf(a->hi),
          "RandomContrast(0.2): 0.8 to 1.2, no clip");
    CHECK(!strstr(on_model_notes(m), "identity"), "no layer is read as the identity");
    /* Normalization: 2C+1 non-trainable, its values in the state tensors */
    int t = on_model_tensor_find(m, "normalization.mean"),
        u = on_model_tensor_find(m, "normalization.variance"),
        ti = on_model_tensor_find(m, "inv.mean");
    CHECK(t >= 0 && u >= 0 && ti >= 0, "the normalization tensors are there");
    if (t >= 0 && u >= 0 && ti >= 0) {
        const float *mu = on_model_tensor_data(m, t), *var = on_model_tensor_data(m, u);
        CHECK(mu[0] == 0.5f && mu[1] == 0.4f && mu[2] == 0.3f && var[0] == 0.04f && var[2] == 0.01f,
              "mean and variance as given (%g %g %g)", mu[0], mu[1], mu[2]);
        const float *mi = on_model_tensor_data(m, ti);
        CHECK(mi[0] == 2 && mi[1] == 2 && mi[2] == 2, "a single mean is every channel's");
        CHECK(m->nodes[node_of(m, "inv")].a.mode == 1, "invert=True");
    }
    /* Conv2D 3*9*8 + 8 = 224 trainable; two Normalizations 2 * (2*3 + 1) = 14 non-trainable */
    CHECK(json_num(m, "trainable_params") == 224 && json_num(m, "non_trainable_params") == 14,
          "224 trainable, 14 non-trainable (got %.0f / %.0f)", json_num(m, "trainable_params"),
          json_num(m, "non_trainable_params"));
    on_model_free(m);
    /* the functional graph, whose model is rebuilt from the layers that lead to its output */
    m = read("from keras import layers, Input, Model\ninp = Input((4, 4, 2))\n"
             "side = layers.Dense(3)(layers.Flatten()(inp))\n"
             "x = layers.Normalization(mean=[1, 2], variance=[4, 9], name='n')(inp)\n"
             "model = Model(inp, layers.Conv2D(2, 1)(x))\n");
    t = m ? on_model_tensor_find(m, "n.variance") : -1;
    CHECK(t >= 0 && on_model_tensor_data(m, t)[1] == 9, "the values survive the rebuilt graph");
    on_model_free(m);
    m = read("from keras import layers, Input, Model\ninp = Input((4, 4, 2))\n"
             "x = layers.Normalization()(inp)\nmodel = Model(inp, layers.Conv2D(2, 1)(x))\n");
    CHECK(m && strstr(on_model_notes(m), "Normalization at model.py:3:12 has no mean= and "
                                         "variance= (Keras adapts it to data)"),
          "an adapted Normalization is read with a note: %s", m ? on_model_notes(m) : "");
    CHECK(m && json_num(m, "non_trainable_params") == 5, "its 2*2+1 = 5 statistics");
    on_model_free(m);
    refused("from keras import layers, Input\ninp = Input((4, 4, 2))\n"
            "x = layers.Normalization(mean=[1, 2, 3], variance=1)(inp)\n",
            "model.py:3:12: ", "have 3 and 1 values; its input (None, 4, 4, 2) has 2 channels");
    refused("from keras import layers, Input\ninp = Input((4, 4, 2))\n"
            "x = layers.Normalization(mean=[1, 2])(inp)\n",
            "model.py:3:12: ", "needs both mean= and variance=");
    refused("from keras import layers, Input\ninp = Input((4, 4, 2))\n"
            "x = layers.Normalization(mean=1, variance=-1)(inp)\n",
            "model.py:3:43: ", "variance must be a number >= 0");
    refused("from keras import layers, Input\ninp = Input((4, 4, 2))\n"
            "x = layers.Normalization(axis=1, mean=1, variance=1)(inp)\n",
            "model.py:3:31: ", "Normalization over axis 1 is not supported");
    refused("from keras import layers, Input\ninp = Input((4, 4, 2))\n"
            "x = layers.RandomRotation()(inp)\n",
            "model.py:3:12: ", "RandomRotation needs its factor");
    refused("from keras import layers, Input\ninp = Input((4, 4, 2))\n"
            "x = layers.RandomTranslation(0.1)(inp)\n",
            "model.py:3:12: ", "RandomTranslation needs its width_factor");
    refused("from keras import layers, Input\ninp = Input((4, 4, 2))\n"
            "x = layers.RandomFlip('diagonal')(inp)\n",
            "model.py:3:23: ", "must be 'horizontal', 'vertical' or 'horizontal_and_vertical'");
    refused("from keras import layers, Input\ninp = Input((4, 4, 2))\n"
            "x = layers.RandomTranslation(2, 0.1)(inp)\n",
            "model.py:3:12: ", "height_factor must be a range");
    refused("from keras import layers, Input\ninp = Input((16, 2))\n"
            "x = layers.RandomFlip()(inp)\n",
            "model.py:3:12: ", "needs a 2-D input");
}

static void test_none_sizes(void) {
    /* any image size: Conv2D 3*9*4 + 4 = 112, Dense 4*2 + 2 = 10, whatever the size */
    on_model *m = read("from keras import layers, Input, Model\n"
                       "inp = Input(shape=(None, None, 3), dtype='uint8')\n"
                       "x = layers.Conv2D(4, 3)(inp)\nx = layers.GlobalAveragePooling2D()(x)\n"
                       "model = Model(inp, layers.Dense(2)(x))\n");
    CHECK(m && json_num(m, "total_params") == 122, "(None, None, 3) with global pooling: 122");
    CHECK(m && strstr(on_model_notes(m), "input shape (None, None, 3) at model.py:2:19 has a "
                                         "dimension None (any size in Keras): read as 256"),
          "the note says where and as what: %s", m ? on_model_notes(m) : "");
    CHECK(m && m->nodes[0].ys.h == 256 && m->nodes[0].ys.w == 256 && m->nodes[0].ys.c == 3,
          "read as 256 x 256");
    on_model_free(m);
    /* a Sequential one whose count depends on the length is refused where the None is */
    refused(
        "import keras\nm = keras.Sequential([keras.Input((None,)), keras.layers.Embedding(9, 2),"
        "\n    keras.layers.Flatten(), keras.layers.Dense(1)])\n",
        "model.py:2:35: ", "depends on it (531 with 256, 659 with 320");
    refused("from keras import Input\nfrom keras.layers import Dense\n"
            "x = Input(shape=(4,), dtype='float16')\ny = Dense(2)(x)\n",
            "model.py:3:29: ", "dtype must be 'float32'");
}

int main(void) {
    test_frozen();
    test_regularizers();
    test_permute();
    test_weights_note();
    test_preprocessing();
    test_none_sizes();
    return check_done();
}
