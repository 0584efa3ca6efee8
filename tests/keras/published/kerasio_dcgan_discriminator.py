# Source: https://github.com/keras-team/keras-io/blob/master/examples/generative/md/dcgan_overriding_train_step.md
# (keras.io/examples/generative/dcgan_overriding_train_step/, fchollet)
# Keras printed: Total params: 74,625 / Trainable params: 74,625 / Non-trainable params: 0
# The discriminator, as published.
from tensorflow import keras
from tensorflow.keras import layers

discriminator = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(64, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(alpha=0.2),
        layers.Conv2D(128, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(alpha=0.2),
        layers.GlobalMaxPooling2D(),
        layers.Dense(1),
    ],
    name="discriminator",
)

discriminator.summary()
