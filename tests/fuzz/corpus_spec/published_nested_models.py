# Source: https://github.com/keras-team/keras-io/blob/master/guides/md/functional_api.md
# (keras.io/guides/functional_api/, fchollet, "All models are callable, just like layers";
# search-index file id 576331151, commit 6f78709a673691753bdba7f1422390a73a93a1a5)
# Keras printed: encoder Total params: 18,672; decoder Total params: 9,569;
# autoencoder: Total params: 28,241 / Trainable params: 28,241 / Non-trainable params: 0
# The model definition as published: an encoder model and a decoder model (GlobalMaxPooling2D,
# Reshape, Conv2DTranspose, UpSampling2D), each called on a tensor as a layer by the autoencoder.
from tensorflow import keras
from tensorflow.keras import layers

encoder_input = keras.Input(shape=(28, 28, 1), name="original_img")
x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
x = layers.Conv2D(32, 3, activation="relu")(x)
x = layers.MaxPooling2D(3)(x)
x = layers.Conv2D(32, 3, activation="relu")(x)
x = layers.Conv2D(16, 3, activation="relu")(x)
encoder_output = layers.GlobalMaxPooling2D()(x)

encoder = keras.Model(encoder_input, encoder_output, name="encoder")
encoder.summary()

decoder_input = keras.Input(shape=(16,), name="encoded_img")
x = layers.Reshape((4, 4, 1))(decoder_input)
x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
x = layers.UpSampling2D(3)(x)
x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)

decoder = keras.Model(decoder_input, decoder_output, name="decoder")
decoder.summary()

autoencoder_input = keras.Input(shape=(28, 28, 1), name="img")
encoded_img = encoder(autoencoder_input)
decoded_img = decoder(encoded_img)
autoencoder = keras.Model(autoencoder_input, decoded_img, name="autoencoder")
autoencoder.summary()
