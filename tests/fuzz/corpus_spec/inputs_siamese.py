from tensorflow import keras
from tensorflow.keras import layers

inp = keras.Input(shape=(4,))
x = layers.Dense(8, activation="relu")(inp)
x = layers.Dense(3)(x)
tower = keras.Model(inp, x, name="tower")

left = keras.Input(shape=(4,), name="left")
right = keras.Input(shape=(4,), name="right")
a = tower(left)
b = tower(right)
d = layers.subtract([a, b])
out = layers.Dense(1, activation="sigmoid")(d)
model = keras.Model(inputs=[left, right], outputs=out)
model.summary()
