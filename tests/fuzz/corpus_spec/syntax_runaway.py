def f(n, depth=0):
    if depth > 3:
        return n
    return f(n * 2, depth + 1)
x = 0
for i in range(f(3)):
    x += i
s = 'a' * 4
while x:
    pass
