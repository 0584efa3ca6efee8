# Source: J. Brownlee, "Object Recognition with Convolutional Neural Networks in the Keras Deep
# Learning Library" (machinelearningmastery.com/object-recognition-convolutional-neural-networks-
# keras-deep-learning-library/, 2016), "Simple CNN model for CIFAR-10", Keras 1 with Theano's
# channels-first layout; the script with its printed summary as kept in a public GitHub copy
# (search-index file id 19707512614).
# Keras printed: Total params: 4210090 (Keras 1 printed no trainable split; no BatchNormalization)
# The model definition as published; num_classes is y_test.shape[1] in the source, 10 in the
# printed summary.
from keras.models import Sequential
from keras.layers import Dense
from keras.layers import Dropout
from keras.layers import Flatten
from keras.constraints import maxnorm
from keras.optimizers import SGD
from keras.layers.convolutional import Convolution2D
from keras.layers.convolutional import MaxPooling2D
num_classes = 10
# Create the model
model = Sequential()
model.add(Convolution2D(32, 3, 3, input_shape=(3, 32, 32), border_mode='same', activation='relu', W_constraint=maxnorm(3)))
model.add(Dropout(0.2))
model.add(Convolution2D(32, 3, 3, activation='relu', border_mode='same', W_constraint=maxnorm(3)))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Flatten())
model.add(Dense(512, activation='relu', W_constraint=maxnorm(3)))
model.add(Dropout(0.5))
model.add(Dense(num_classes, activation='softmax'))
# Compile model
epochs = 25
lrate = 0.01
decay = lrate/epochs
sgd = SGD(lr=lrate, momentum=0.9, decay=decay, nesterov=False)
model.compile(loss='categorical_crossentropy', optimizer=sgd, metrics=['accuracy'])
print(model.summary())
