x = Input(shape=(28, 28, 1))
x = Conv2D(32, 3(x)
