model = Sequential([
  Input((8,)),
  Dense(4, activation="softmax"),
  Dense(2),
])
