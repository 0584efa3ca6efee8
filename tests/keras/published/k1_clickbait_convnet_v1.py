# Source: https://github.com/saurabhmathur96/clickbait-detector/blob/74394abfea233c39dd35cc8a3dffbabe488f0853/bin/train.py
# (Keras 1.2.1; the summary printed in the README of that version, "Model Summary").
# Keras printed: Total params: 196,769 / Trainable params: 196,645 / Non-trainable params: 124
# The model definition as published. len(vocabulary) is the size of a data file: 6500 words,
# from the printed Embedding parameters (195000 = 6500 x 30).
import numpy as np
from keras.models import Sequential, load_model
from keras.layers import Convolution1D, MaxPooling1D, Flatten, Dense, Embedding, Activation, BatchNormalization, GRU, LSTM

SEQUENCE_LENGTH = 20
EMBEDDING_DIMENSION = 30
MODEL_FILE = "models/detector.h5"

embedding_weights = np.load("models/embeddings.npy")
vocabulary = ["word"] * 6500

model = Sequential()
model.add(Embedding(len(vocabulary), EMBEDDING_DIMENSION, weights=[embedding_weights], input_length=SEQUENCE_LENGTH, trainable=False))
model.add(BatchNormalization())
model.add(Convolution1D(16, 2))
model.add(Activation("relu"))
model.add(MaxPooling1D(2))
model.add(BatchNormalization())
model.add(Convolution1D(16, 2))
model.add(Activation("relu"))
model.add(MaxPooling1D(8))
model.add(Flatten())
model.add(BatchNormalization())
model.add(Dense(1, bias=True))
model.add(Activation("sigmoid"))
