# Source: https://github.com/keras-team/keras/blob/026858eb5fac0dd5f2585fdfe497e3e7eb599029/examples/cifar10_cnn.py
# (Keras's own example, "Train a simple deep CNN on the CIFAR10 small images dataset"). Its
# Total params as printed by a user running the Keras 1 version of the same example, in a
# public GitHub report ("This model is referenced from the Keras example (cifar10_cnn.py)";
# search-index file id 30086984726): Total params: 1250858 (Keras 1 printed no trainable split).
# The model part as published; input_shape is x_train.shape[1:], which the example prints as
# (32, 32, 3) ("x_train shape: (50000, 32, 32, 3)").
import keras
from keras.models import Sequential
from keras.layers import Dense, Dropout, Activation, Flatten
from keras.layers import Conv2D, MaxPooling2D

batch_size = 32
num_classes = 10

model = Sequential()
model.add(Conv2D(32, (3, 3), padding='same',
                 input_shape=(32, 32, 3)))
model.add(Activation('relu'))
model.add(Conv2D(32, (3, 3)))
model.add(Activation('relu'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))

model.add(Conv2D(64, (3, 3), padding='same'))
model.add(Activation('relu'))
model.add(Conv2D(64, (3, 3)))
model.add(Activation('relu'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))

model.add(Flatten())
model.add(Dense(512))
model.add(Activation('relu'))
model.add(Dropout(0.5))
model.add(Dense(num_classes))
model.add(Activation('softmax'))

# initiate RMSprop optimizer
opt = keras.optimizers.rmsprop(lr=0.0001, decay=1e-6)
model.compile(loss='categorical_crossentropy',
              optimizer=opt,
              metrics=['accuracy'])
