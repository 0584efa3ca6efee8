# Source: a public GitHub script, bark_mfcc_tinyml.py (Kend, 2025-11-12, a dog-bark detector for
# an ESP32-S3; search-index file id 2042249186), which keeps the summary Keras 3 printed for it
# at its end.
# Keras printed: Total params: 102 (408.00 B) / Trainable params: 102 (408.00 B) /
# Non-trainable params: 0 (0.00 B)
# The model definition as published (its comments, in Chinese, shortened to the layer names):
# SeparableConv2D, MaxPooling2D with a (2, 1) window, GlobalAveragePooling2D, built in a
# function with a default argument.
import tensorflow as tf
from tensorflow.keras import layers


def build_dog_bark_tiny_model(input_shape=(18, 13, 1)):
    model = tf.keras.Sequential([
        # SeparableConv2D: (18, 13, 1) -> (18, 13, 4)
        layers.SeparableConv2D(
            filters=4,
            kernel_size=(3, 3),
            activation='relu',
            padding='same',
            input_shape=input_shape
        ),

        # MaxPooling2D: time only, (18, 13, 4) -> (9, 13, 4)
        layers.MaxPooling2D(pool_size=(2, 1)),  # (time, freq)

        # (9, 13, 8)
        layers.SeparableConv2D(
            filters=8,
            kernel_size=(3, 3),
            activation='relu',
            padding='same'
        ),

        # GlobalAveragePooling2D -> (8,)
        layers.GlobalAveragePooling2D(),

        # binary output
        layers.Dense(1, activation='sigmoid')
    ])

    model.compile(
        optimizer='adam',
        loss='binary_crossentropy',
        metrics=[
            'accuracy',
            tf.keras.metrics.Precision(name='precision'),
            tf.keras.metrics.Recall(name='recall')
        ]
    )
    return model


if __name__ == '__main__':
    import tensorflow as tf
    model = build_dog_bark_tiny_model(input_shape=(18, 13, 1))
    model.summary()
