# Source: https://github.com/keras-team/keras-io/blob/master/examples/vision/md/involution.md
# (keras.io/examples/vision/involution/, Aritra Roy Gosthipaty and Ritwik Raha; the convolutional
# baseline; search-index file id 1021882186 holds the version used here)
# Keras printed: Total params: 319,178 / Trainable params: 319,178 / Non-trainable params: 0
# The "Convolutional Neural Network" model as published.
from tensorflow import keras

conv_model = keras.Sequential(
    [
        keras.layers.Conv2D(32, (3, 3), input_shape=(32, 32, 3), padding="same"),
        keras.layers.ReLU(name="relu1"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3), padding="same"),
        keras.layers.ReLU(name="relu2"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3), padding="same"),
        keras.layers.ReLU(name="relu3"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10),
    ]
)

# Compile the mode with the necessary loss function and optimizer.
conv_model.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
