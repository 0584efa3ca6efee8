# Source: https://github.com/keras-team/keras-io/blob/master/examples/nlp/text_classification_from_scratch.py
# (keras.io/examples/nlp/text_classification_from_scratch/, Mark Omernick and F. Chollet); its
# summary as printed by a user running the example's model in a public GitHub README
# (search-index file id 32347507696; same layers and names, "predictions (Dense)").
# Keras printed: Total params: 2,806,273 / Trainable params: 2,806,273 / Non-trainable params: 0
# The model section of the example: a variable-length integer input (shape (None,)), which
# ordnet must refuse (it needs fixed sizes), before the Embedding it does not have yet.
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

max_features = 20000
embedding_dim = 128

# A integer input for vocab indices.
inputs = tf.keras.Input(shape=(None,), dtype="int64")

# Next, we add a layer to map those vocab indices into a space of dimensionality
# 'embedding_dim'.
x = layers.Embedding(max_features, embedding_dim)(inputs)
x = layers.Dropout(0.5)(x)

# Conv1D + global max pooling
x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
x = layers.GlobalMaxPooling1D()(x)

# We add a vanilla hidden layer:
x = layers.Dense(128, activation="relu")(x)
x = layers.Dropout(0.5)(x)

# We project onto a single unit output layer, and squash it with a sigmoid:
predictions = layers.Dense(1, activation="sigmoid", name="predictions")(x)

model = tf.keras.Model(inputs, predictions)
