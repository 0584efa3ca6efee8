"""ordnet's reference model for Fashion-MNIST, written as Keras code.

Two blocks of 3x3 convolution ('same' padding), batch normalization, ReLU, 2x2 max pooling
and dropout, with 32 and then 64 filters; then a dense classifier over the 10 classes.

    ordnet summary examples/fashion_mnist.py
"""
from tensorflow import keras
from tensorflow.keras import layers

num_classes = 10
input_shape = (28, 28, 1)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        # block 1: 28x28x1 -> 14x14x32
        layers.Conv2D(32, kernel_size=(3, 3), padding="same"),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Dropout(0.2),
        # block 2: 14x14x32 -> 7x7x64
        layers.Conv2D(64, kernel_size=(3, 3), padding="same"),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Dropout(0.2),
        # classifier
        layers.Flatten(),
        layers.Dense(num_classes, activation="softmax"),
    ],
    name="fashion_mnist",
)

model.summary()
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
