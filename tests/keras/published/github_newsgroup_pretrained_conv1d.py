# Source: a public GitHub copy of the Keras blog's "Using pre-trained word embeddings in a Keras
# model" script (20 Newsgroups, GloVe), with the summary it printed kept in a docstring
# (search-index file id 26087892966).
# Keras printed: Total params: 2,247,316 / Trainable params: 247,316 / Non-trainable params: 2,000,000
# The model part as published. nb_words is min(MAX_NB_WORDS, len(word_index)), computed from the
# data set: ordnet must refuse it as a value it does not compute (data-dependent).
import numpy as np
from keras.preprocessing.text import Tokenizer
from keras.layers import Dense, Input, Flatten
from keras.layers import Conv1D, MaxPooling1D, Embedding
from keras.models import Model

MAX_SEQUENCE_LENGTH = 1000
MAX_NB_WORDS = 20000
EMBEDDING_DIM = 100

tokenizer = Tokenizer(nb_words=MAX_NB_WORDS)
word_index = tokenizer.word_index
labels_index = {}
nb_words = min(MAX_NB_WORDS, len(word_index))
embedding_matrix = np.zeros((nb_words, EMBEDDING_DIM))

embedding_layer = Embedding(nb_words,
							EMBEDDING_DIM,
							weights=[embedding_matrix],
							input_length=MAX_SEQUENCE_LENGTH,
							trainable=False)

sequence_input = Input(shape=(MAX_SEQUENCE_LENGTH,), dtype='int32')
embedded_sequences = embedding_layer(sequence_input)
x = Conv1D(128, 5, activation='relu')(embedded_sequences)
x = MaxPooling1D(5)(x)
x = Conv1D(128, 5, activation='relu')(x)
x = MaxPooling1D(5)(x)
x = Conv1D(128, 5, activation='relu')(x)
x = MaxPooling1D(35)(x)
x = Flatten()(x)
x = Dense(128, activation='relu')(x)
preds = Dense(len(labels_index), activation='softmax')(x)

model = Model(sequence_input, preds)
