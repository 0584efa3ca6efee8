# Source: https://github.com/saurabhmathur96/clickbait-detector/blob/8874a88300bb06fe0b200616fd44ef52b0c48774/src/models/convnets.py
# (Keras 1.2.1; the summary printed in the repository's README, "Model Summary").
# Keras printed: Total params: 201,533 / Trainable params: 201,339 / Non-trainable params: 194
# The model function as published, called with the sizes of the printed summary (a vocabulary of
# 6500 words: 195000 = 6500 x 30 Embedding parameters; 30 dimensions; 20 words).
from keras.models import Sequential, Model
from keras.layers import Convolution1D, MaxPooling1D, Flatten, Dense, Embedding, Activation, BatchNormalization, GlobalAveragePooling1D, Input, merge, ZeroPadding1D
from keras.regularizers import l2

def ConvolutionalNet(vocabulary_size, embedding_dimension, input_length, embedding_weights=None):
    
    model = Sequential()
    if embedding_weights is None:
        model.add(Embedding(vocabulary_size, embedding_dimension, input_length=input_length, trainable=False))
    else:
        model.add(Embedding(vocabulary_size, embedding_dimension, input_length=input_length, weights=[embedding_weights], trainable=False))

    model.add(Convolution1D(32, 2, W_regularizer=l2(0.005)))
    model.add(BatchNormalization())
    model.add(Activation("relu"))

    model.add(Convolution1D(32, 2, W_regularizer=l2(0.001)))
    model.add(BatchNormalization())
    model.add(Activation("relu"))

    model.add(Convolution1D(32, 2, W_regularizer=l2(0.001)))
    model.add(BatchNormalization())
    model.add(Activation("relu"))

    model.add(MaxPooling1D(17))
    model.add(Flatten())

    model.add(Dense(1, bias=True, W_regularizer=l2(0.001)))
    model.add(BatchNormalization())
    model.add(Activation("sigmoid"))

    return model


model = ConvolutionalNet(6500, 30, 20)
