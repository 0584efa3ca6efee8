# Source: https://github.com/keras-team/keras-io/blob/master/examples/vision/md/involution.md
# (keras.io/examples/vision/involution/, Aritra Roy Gosthipaty and Ritwik Raha; the involution
# model; search-index file id 1021882186 holds the version used here)
# Keras printed: Total params: 13,080 / Trainable params: 13,074 / Non-trainable params: 6
# The model as published, built from the example's custom layer, a keras.layers.Layer subclass
# defined in the example (its body is abbreviated here: ordnet refuses the class itself, since
# it cannot know what call() computes).
from tensorflow import keras


class Involution(keras.layers.Layer):
    def __init__(
        self, channel, group_number, kernel_size, stride, reduction_ratio, name
    ):
        super().__init__(name=name)
        # ... (the example's layer code)


inputs = keras.Input(shape=(32, 32, 3))
x, _ = Involution(
    channel=3, group_number=1, kernel_size=3, stride=1, reduction_ratio=2, name="inv_1"
)(inputs)
x = keras.layers.ReLU()(x)
x = keras.layers.MaxPooling2D((2, 2))(x)
x, _ = Involution(
    channel=3, group_number=1, kernel_size=3, stride=1, reduction_ratio=2, name="inv_2"
)(x)
x = keras.layers.ReLU()(x)
x = keras.layers.MaxPooling2D((2, 2))(x)
x, _ = Involution(
    channel=3, group_number=1, kernel_size=3, stride=1, reduction_ratio=2, name="inv_3"
)(x)
x = keras.layers.ReLU()(x)
x = keras.layers.Flatten()(x)
x = keras.layers.Dense(64, activation="relu")(x)
outputs = keras.layers.Dense(10)(x)

inv_model = keras.Model(inputs=[inputs], outputs=[outputs], name="inv_model")
