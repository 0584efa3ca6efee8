from keras import layers, Model, Input

img = Input((8, 8, 1), name='img')
meta = Input((5,), name='meta')
x = layers.Flatten()(layers.Conv2D(2, 3)(img))
y = layers.Dense(4)(meta)
z = layers.Concatenate()([x, y])
out = layers.Dense(3, activation='softmax')(z)
model = Model(inputs=[meta, img], outputs=out)
