def block(x, f=8):
    y = Conv1D(f, 3, padding="same")(x)
    return Add()([x, y])
x = Input((16, 8))
x = block(x)
x = block(x, f=8)
