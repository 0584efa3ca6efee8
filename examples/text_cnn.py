# The forum thread's text model (Embedding + Conv1D + MaxPooling1D + Dropout), sized for
# Debian's package descriptions (scripts/apt_text_csv.py; at most 15 words each):
# 5000 words, sequences of 16 token ids, 4 sections.
from keras.models import Sequential
from keras.layers import Embedding, Conv1D, MaxPooling1D, Dropout, Flatten, Dense

model = Sequential()
model.add(Embedding(5000, 32, input_length=16))
model.add(Conv1D(64, 3, padding='same', activation='relu'))
model.add(MaxPooling1D(2))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(4, activation='softmax'))
