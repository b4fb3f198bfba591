"""Greets the name in the inputs: {"name": "Ada"} gives the output {"result": "Hello, Ada!"}."""

from utils import read_inputs, write_output

greeting = "Hello, %s!" % read_inputs()["name"]
print(greeting)
write_output({"result": greeting})
