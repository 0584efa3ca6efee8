# Source: https://github.com/keras-team/keras-io/blob/master/examples/vision/md/siamese_contrastive.md
# (keras.io/examples/vision/siamese_contrastive/, Mehdi, "Image similarity estimation using a
# Siamese Network with a contrastive loss", Keras 3; search-index file id 22214875194, commit
# 1152d883930e8ab91a8c16366d5a21c67d771e82)
# Keras printed: Total params: 5,318 (20.77 KB) / Trainable params: 4,804 (18.77 KB) /
# Non-trainable params: 514 (2.01 KB)
# The model definition as published (the docstrings shortened): a functional embedding model
# built in a function, shared by two towers on two Inputs, merged by a Lambda. ordnet reads
# models with one input and refuses the shared functional model where it is called.
import keras
from keras import ops
from keras import layers


# Provided two tensors t1 and t2
# Euclidean distance = sqrt(sum(square(t1-t2)))
def euclidean_distance(vects):
    """Find the Euclidean distance between two vectors."""
    x, y = vects
    sum_square = ops.sum(ops.square(x - y), axis=1, keepdims=True)
    return ops.sqrt(ops.maximum(sum_square, keras.backend.epsilon()))


def create_embedding_network():
    """Creates a convolutional neural network for image embedding."""
    inputs = layers.Input((28, 28, 1))
    x = layers.BatchNormalization()(inputs)
    x = layers.Conv2D(4, (5, 5), activation="tanh")(x)
    x = layers.AveragePooling2D(pool_size=(2, 2))(x)
    x = layers.Conv2D(16, (5, 5), activation="tanh")(x)
    x = layers.AveragePooling2D(pool_size=(2, 2))(x)
    x = layers.Flatten()(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dense(10, activation="tanh")(x)
    return keras.Model(inputs, x, name="embedding")


embedding_network = create_embedding_network()

input_1 = layers.Input((28, 28, 1))
input_2 = layers.Input((28, 28, 1))

# As mentioned above, Siamese Network share weights between
# tower networks (sister networks). To allow this, we will use
# same embedding network for both tower networks.
tower_1 = embedding_network(input_1)
tower_2 = embedding_network(input_2)

# Distance is the output, remove the final Dense Sigmoid layer
distance = layers.Lambda(euclidean_distance)([tower_1, tower_2])
siamese = keras.Model(inputs=[input_1, input_2], outputs=distance)

siamese.compile(loss=loss(margin=margin), optimizer="RMSprop", metrics=[accuracy])
siamese.summary()
