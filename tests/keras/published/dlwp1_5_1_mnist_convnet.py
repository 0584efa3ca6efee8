# Source: https://github.com/fchollet/deep-learning-with-python-notebooks/blob/master/first_edition/5.1-introduction-to-convnets.ipynb
# F. Chollet, Deep Learning with Python (1st ed.), 5.1 - Introduction to convnets (Keras 2.0.8).
# Keras printed: Total params: 93,322 / Trainable params: 93,322 / Non-trainable params: 0
# The model-definition cells, as published.
from keras import layers
from keras import models

model = models.Sequential()
model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation='relu'))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation='relu'))

model.add(layers.Flatten())
model.add(layers.Dense(64, activation='relu'))
model.add(layers.Dense(10, activation='softmax'))
