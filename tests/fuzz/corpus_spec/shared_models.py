import keras
from keras import layers
def tower():
    i = layers.Input((12, 12, 2))
    x = layers.Conv2D(4, 3, activation="tanh")(i)
    x = layers.SeparableConv2D(4, 3, padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(i, x, name="tower")
t = tower()
block = keras.Sequential([layers.Dense(4), layers.BatchNormalization()])
inp = layers.Input((12, 12, 2))
a = t(inp)
b = t(layers.RandomFlip("horizontal")(inp))
c = block(block(layers.subtract([a, b])))
m2 = keras.Model(inp, c)
d = m2(inp)
other = layers.Input((12, 12, 2))
e = t(other)
model = keras.Model([inp], layers.Dense(1, activation="sigmoid")(d))
