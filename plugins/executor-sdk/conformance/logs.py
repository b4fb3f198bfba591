"""Writes lines to stdout and stderr: text beyond ASCII, a CRLF line, a last line without newline."""

import sys

print("first line")
print("ünïcödé ✓ 中文")
sys.stderr.write("to stderr\n")
sys.stderr.flush()
sys.stdout.write("windows line\r\n")
sys.stdout.write("no newline at the end")
