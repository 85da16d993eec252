# SPDX-License-Identifier: Apache-2.0
# An allocation-heavy Python program with deterministic output (real-programs test).
import hashlib
d = {}
for i in range(100000):
    d[i] = "v" * (i % 97) + str(i)
lists = [[j for j in range(i % 50)] for i in range(10000)]
h = hashlib.sha256()
for k in range(0, 100000, 7):
    h.update(d[k].encode())
print(len(d), sum(len(x) for x in lists), h.hexdigest())
