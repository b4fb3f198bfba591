"""Writes its inputs back as its output, with some text beyond ASCII."""

from utils import read_inputs, write_output

write_output({"inputs": read_inputs(), "text": "ünïcödé ✓ 中文"})
