import tensorflow as tf
from tensorflow.keras import layers
inputs = tf.keras.Input(shape=(None,), dtype="int64")
x = layers.Embedding(2000, 16)(inputs)
x = layers.Conv1D(8, 7, strides=3, activation="relu")(x)
x = layers.GlobalMaxPooling1D()(x)
model = tf.keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))
