from tensorflow import keras
from tensorflow.keras import layers
aug = keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomZoom(0.1)])
inputs = keras.Input(shape=(32, 32, 3))
x = aug(inputs)
x = layers.Rescaling(1.0 / 255)(x)
outs = []
for i, size in enumerate([8, 16]):
    x = layers.Conv2D(size, 3, padding="same", name=f"conv_{i}")(x)
    x = layers.BatchNormalization(name="bn_%d" % i)(x) if size > 8 else x
    x = layers.SeparableConv2D(size, 3, padding="same", name="sep_{}".format(i))(x)
    outs.append(layers.GlobalAveragePooling2D()(x))
    if i == 1:
        break
y = layers.concatenate(outs)
outputs = layers.Dense(len(outs) * 5, activation="softmax")(y)
model = keras.Model(inputs, outputs)
