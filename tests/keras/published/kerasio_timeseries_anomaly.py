# Source: https://github.com/keras-team/keras-io/blob/master/examples/timeseries/md/timeseries_anomaly_detection.md
# (keras.io/examples/timeseries/timeseries_anomaly_detection/, pavithrasv)
# Keras printed: Total params: 9,505 / Trainable params: 9,505 / Non-trainable params: 0
# The model as published; the input shape is x_train.shape[1:], which the example printed as
# (288, 1) (TIME_STEPS = 288, one value per step).
from tensorflow import keras
from tensorflow.keras import layers

TIME_STEPS = 288

model = keras.Sequential(
    [
        layers.Input(shape=(TIME_STEPS, 1)),
        layers.Conv1D(
            filters=32,
            kernel_size=7,
            padding="same",
            strides=2,
            activation="relu",
        ),
        layers.Dropout(rate=0.2),
        layers.Conv1D(
            filters=16,
            kernel_size=7,
            padding="same",
            strides=2,
            activation="relu",
        ),
        layers.Conv1DTranspose(
            filters=16,
            kernel_size=7,
            padding="same",
            strides=2,
            activation="relu",
        ),
        layers.Dropout(rate=0.2),
        layers.Conv1DTranspose(
            filters=32,
            kernel_size=7,
            padding="same",
            strides=2,
            activation="relu",
        ),
        layers.Conv1DTranspose(filters=1, kernel_size=7, padding="same"),
    ]
)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="mse")
model.summary()
