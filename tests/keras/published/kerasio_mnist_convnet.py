# Source: https://github.com/keras-team/keras-io/blob/master/examples/vision/md/mnist_convnet.md
# (keras.io/examples/vision/mnist_convnet/, fchollet, "Simple MNIST convnet")
# Keras printed: Total params: 34,826 / Trainable params: 34,826 / Non-trainable params: 0
# The model-definition part, as published.
import numpy as np
from tensorflow import keras
from tensorflow.keras import layers

num_classes = 10
input_shape = (28, 28, 1)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)

model.summary()
