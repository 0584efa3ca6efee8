import keras
from keras import layers
norm = layers.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.04, 0.09, 0.01])
model = keras.Sequential([
    keras.Input(shape=(32, 32, 3)),
    layers.RandomFlip("horizontal"),
    layers.RandomRotation(0.1, fill_mode='nearest'),
    layers.RandomZoom(0.2, interpolation='nearest'),
    layers.RandomTranslation(0.1, (-0.2, 0.3), fill_mode='constant', fill_value=0.5),
    layers.RandomContrast(0.2),
    norm,
    layers.Conv2D(8, 3),
])
