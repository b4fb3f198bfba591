# Makes modules sent with a program importable before it runs: the host has no files of ours.
# The server appends `install({name: source, ...})` and the program's own source.
import sys
import types


def install(sources):
    for name, source in sources.items():
        module = types.ModuleType(name)
        module.__file__ = name + ".py"
        sys.modules[name] = module
        exec(compile(source, name + ".py", "exec"), module.__dict__)
