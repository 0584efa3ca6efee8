# Source: a public GitHub script (Heo, 2020-04-06, "CNN 1D를 이용한 IMBD 영화리뷰 감정분류": IMDB
# review sentiment with a 1-D CNN; search-index file id 27169058973), which keeps the summary
# Keras printed for it in a string after print(model.summary()).
# Keras printed: Total params: 485,661 / Trainable params: 485,661 / Non-trainable params: 0
# The model definition as published (its Korean comments shortened to English); the data
# loading above it (imdb.load_data, pad_sequences) is left out: the model does not use it.
from keras.preprocessing import sequence
from keras.models import Sequential
from keras.layers import Dense, Dropout, Activation
from keras.layers import Embedding
from keras.layers import Conv1D, GlobalMaxPooling1D
from keras.datasets import imdb

# parameters
max_features = 6000 # the most frequent words kept
max_length = 400  # words per review

# architecture parameters
batch_size = 32
embedding_dims = 60 # embedding size
num_kernels = 260 # filters
kernel_size = 3 # filter size
hidden_dims = 300 # units of the fully connected layer
epochs = 3


# the model
model = Sequential()

# embedding layer
model.add(Embedding(max_features,embedding_dims,input_length=max_length))
model.add(Dropout(0.2))

# convolution layer
model.add(Conv1D(num_kernels,kernel_size,padding='valid',activation='relu',strides=1))
model.add(GlobalMaxPooling1D())

# fully connected layer
model.add(Dense(hidden_dims))

# drop out
model.add(Dropout(0.5))

# relu
model.add(Activation('relu'))

# one output
model.add(Dense(1))

# sigmoid
model.add(Activation('sigmoid'))

model.compile(loss='binary_crossentropy',optimizer='adam',metrics=['accuracy'])

print (model.summary())
