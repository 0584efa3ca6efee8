x = Input(shape=(128, 16))
x = Convolutiinput_shape=()
x = BatchNormalization()(x)
x = Activ,t(0.2)(x)
