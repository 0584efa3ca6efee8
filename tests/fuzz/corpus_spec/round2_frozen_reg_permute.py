from keras import regularizers
from keras.regularizers import l2
from keras.layers import Input, Embedding, Conv1D, Permute, Flatten, Dense, ActivityRegularization
from keras.models import Model
w = None
inp = Input(shape=(20,))
emb = Embedding(500, 8, weights=[w], trainable=False)
x = emb(inp)
x = Permute((2, 1))(x)
x = Conv1D(16, 3, kernel_regularizer=regularizers.l1_l2(l1=0.001, l2=0.001), W_constraint=None,
           bias_regularizer='l2', activity_regularizer=regularizers.L1(0.01), activation='relu')(x)
x = ActivityRegularization(l2=0.1)(x)
x = Flatten()(x)
d = Dense(1, W_regularizer=l2(0.01), activation='sigmoid')
y = d(x)
d.trainable = False
model = Model(inp, y)
model.trainable = True
