# Source: https://github.com/fchollet/deep-learning-with-python-notebooks/blob/master/first_edition/5.1-introduction-to-convnets.ipynb
# F. Chollet, Deep Learning with Python (1st ed.), 5.1: the convolutional base alone, as first
# built and summarized in the notebook (Keras 2.0.8), before the classifier is added.
# Keras printed: Total params: 55,744 / Trainable params: 55,744 / Non-trainable params: 0
from keras import layers
from keras import models

model = models.Sequential()
model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation='relu'))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation='relu'))
