# The first block from the forum thread "Order of layers in model" (fast.ai forums, Feb 2017):
# convolution with ReLU, then max pooling, dropout and batch normalization, over a 1-D signal
# of 128 steps with 16 channels. The four layer lines are the thread's, verbatim.
from keras.layers import Input, Convolution1D, MaxPooling1D, Dropout, BatchNormalization

inp = Input(shape=(128, 16))
x = Convolution1D(64, 5, activation='relu')(inp)
x = MaxPooling1D()(x)
x = Dropout(0.2)(x)
x = BatchNormalization()(x)
