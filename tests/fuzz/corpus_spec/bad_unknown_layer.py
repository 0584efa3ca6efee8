inp = Input(shape=(28, 28, 1))
x = Conv3D(32, 3)(inp)
