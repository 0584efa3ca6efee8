# Source: https://github.com/keras-team/keras-io/blob/master/examples/generative/md/dcgan_overriding_train_step.md
# (keras.io/examples/generative/dcgan_overriding_train_step/, fchollet)
# Keras printed: Total params: 1,339,905 / Trainable params: 1,339,905 / Non-trainable params: 0
# The generator, as published.
from tensorflow import keras
from tensorflow.keras import layers

latent_dim = 128

generator = keras.Sequential(
    [
        keras.Input(shape=(latent_dim,)),
        # We want to generate 128 coefficients to reshape into a 7x7x128 map
        layers.Dense(7 * 7 * 128),
        layers.LeakyReLU(alpha=0.2),
        layers.Reshape((7, 7, 128)),
        layers.Conv2DTranspose(128, (4, 4), strides=(2, 2), padding="same"),
        layers.LeakyReLU(alpha=0.2),
        layers.Conv2DTranspose(128, (4, 4), strides=(2, 2), padding="same"),
        layers.LeakyReLU(alpha=0.2),
        layers.Conv2D(1, (7, 7), padding="same", activation="sigmoid"),
    ],
    name="generator",
)

generator.summary()
