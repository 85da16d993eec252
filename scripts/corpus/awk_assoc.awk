# SPDX-License-Identifier: Apache-2.0
# mawk (or any awk) keeping every input line in an associative array by its first field: a
# growing table (leak) with KEEP=0, or only the latest KEEP lines (the line KEEP back deleted:
# bounded). Lines come paced from awk_lines.py. usage:
#   python3 awk_lines.py RATE SECONDS | mawk -v KEEP=0 -f awk_assoc.awk
{
  seen[$1] = $0
  if (KEEP > 0 && NR > KEEP) delete seen["k" (NR - KEEP)]
}
END { print length(seen) " keys" }
