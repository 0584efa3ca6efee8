import keras
from keras import layers

def branch(name, n):
    i = keras.Input(shape=(n,), name=name)
    return i, layers.Dense(2, name=name + '_d')(i)

ins, outs = [], []
for k, n in enumerate([3, 4, 5]):
    i, o = branch('in%d' % k, n)
    ins.append(i)
    outs.append(o)
x = layers.add(outs)
x = layers.Dense(1)(x)
model = keras.Model(inputs=ins, outputs=x)
