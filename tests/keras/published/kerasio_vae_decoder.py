# Source: https://github.com/keras-team/keras-io/blob/master/examples/generative/md/vae.md
# (keras.io/examples/generative/vae/, fchollet, "Variational AutoEncoder", "Build the decoder";
# search-index file id 22327435925, commit 216c5a2b6c4ef626f7acd8c69b29919ee7c5e758)
# Keras printed: Total params: 65,089 / Trainable params: 65,089 / Non-trainable params: 0
# The decoder's definition as published (Dense, Reshape, strided Conv2DTranspose with "same"
# padding); the example's encoder ends in a custom Sampling layer class, and its VAE is a
# keras.Model subclass: neither is copied here.
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

latent_dim = 2

latent_inputs = keras.Input(shape=(latent_dim,))
x = layers.Dense(7 * 7 * 64, activation="relu")(latent_inputs)
x = layers.Reshape((7, 7, 64))(x)
x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
decoder_outputs = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(x)
decoder = keras.Model(latent_inputs, decoder_outputs, name="decoder")
decoder.summary()
