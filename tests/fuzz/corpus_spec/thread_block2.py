# The second block from the forum thread "Order of layers in model" (fast.ai forums, Feb 2017):
# batch normalization after the convolution and before the activation, as in ResNet. The
# five layer lines are the thread's, verbatim; the Input line gives them a 1-D signal of 128
# steps with 16 channels.
from keras.layers import Input, Convolution1D, BatchNormalization, Activation, MaxPooling1D, Dropout

x = Input(shape=(128, 16))
x = Convolution1D(64, 5)(x)
x = BatchNormalization()(x)
x = Activation('relu')(x)
x = MaxPooling1D()(x)
x = Dropout(0.2)(x)
