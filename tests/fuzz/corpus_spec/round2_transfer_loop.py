import keras
base = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3), keras.layers.Conv2D(4, 3)])
for layer in base.layers[:-1]:
    layer.trainable = False
model = keras.Sequential([base, keras.layers.Flatten(), keras.layers.Dense(2)])
