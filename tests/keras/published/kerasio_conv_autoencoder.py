# Source: https://github.com/keras-team/keras-io/blob/master/examples/vision/md/autoencoder.md
# (keras.io/examples/vision/autoencoder/, Santiago L. Valdarrama, "Convolutional autoencoder
# for image denoising", Keras 3)
# Keras printed: Total params: 28,353 / Trainable params: 28,353 / Non-trainable params: 0
# The "Build the autoencoder" section as published (imports from the example's setup).
from keras import layers
from keras.models import Model

input = layers.Input(shape=(28, 28, 1))

# Encoder
x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(input)
x = layers.MaxPooling2D((2, 2), padding="same")(x)
x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(x)
x = layers.MaxPooling2D((2, 2), padding="same")(x)

# Decoder
x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)
x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)
x = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)

# Autoencoder
autoencoder = Model(input, x)
autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
autoencoder.summary()
