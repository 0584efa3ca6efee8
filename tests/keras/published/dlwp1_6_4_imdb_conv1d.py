# Source: https://github.com/fchollet/deep-learning-with-python-notebooks/blob/master/first_edition/6.4-sequence-processing-with-convnets.ipynb
# F. Chollet, Deep Learning with Python (1st ed.), 6.4: a 1-D convnet on IMDB (Keras 2.0.8).
# Keras printed: Total params: 1,315,937 / Trainable params: 1,315,937 / Non-trainable params: 0
# The model cell as published; max_features and max_len are the notebook's constants.
from keras.models import Sequential
from keras import layers
from keras.optimizers import RMSprop

max_features = 10000
max_len = 500

model = Sequential()
model.add(layers.Embedding(max_features, 128, input_length=max_len))
model.add(layers.Conv1D(32, 7, activation='relu'))
model.add(layers.MaxPooling1D(5))
model.add(layers.Conv1D(32, 7, activation='relu'))
model.add(layers.GlobalMaxPooling1D())
model.add(layers.Dense(1))

model.summary()
