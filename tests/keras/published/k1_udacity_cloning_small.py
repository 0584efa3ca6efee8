# Source: a public GitHub README of a Udacity Self-Driving Car "Behavioral Cloning" project
# (Keras 1; search-index file id 15329021352, section "Simple Network - v2", with the summary
# printed under "Model Architecture"; "Image shape : (12, 32, 3)").
# Keras printed: Total params: 952577 (Keras 1 printed no trainable split; no BatchNormalization)
# The model as published; input_shape is the image shape the README states.
from keras.models import Sequential
from keras.layers import Convolution2D, ELU, MaxPooling2D, Dropout, Flatten, Dense

input_shape = (12, 32, 3)

image_model = Sequential()
image_model.add(Convolution2D(64, 3, 3, subsample=(2,2), border_mode='valid', input_shape=input_shape))
image_model.add(ELU())
image_model.add(MaxPooling2D(pool_size=(2,2), strides=(1,1)))
image_model.add(Dropout(0.25))
image_model.add(Flatten())
image_model.add(Dense(256))
image_model.add(Dropout(0.25))
image_model.add(Dense(128))
image_model.add(Dense(1))
image_model.compile(optimizer='adam', loss='mse')
