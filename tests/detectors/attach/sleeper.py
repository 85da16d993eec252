# SPDX-License-Identifier: Apache-2.0
# A python3 that spends its time in time.sleep (clock_nanosleep) and prints one numbered line
# per 0.1 s: an attach that stops it inside the syscall must restart the sleep, never leak
# EINTR or errno 514 into it (an OSError here ends the line sequence with a traceback).
import sys
import time

i = 0
while True:
    print(i, flush=True)
    i += 1
    time.sleep(0.1)
