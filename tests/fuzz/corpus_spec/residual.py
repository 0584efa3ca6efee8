import tensorflow as tf
from tensorflow.keras import layers, Model

def block(x, filters, stride=1):
    shortcut = x
    x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Add()([shortcut, x])
    return layers.Activation("relu")(x)

inputs = keras_input = tf.keras.Input(shape=(32, 32, 3), name="image")
x = layers.Conv2D(16, 3, padding="same")(inputs)
x = block(x, 16)
x = block(x, 16)
x = layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(10, activation="softmax")(x)
model = Model(inputs=inputs, outputs=outputs, name="resnet_tiny")
model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
model.summary()
