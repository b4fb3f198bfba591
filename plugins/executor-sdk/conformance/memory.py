"""Fills memory, 8 MiB at a time, up to inputs["mb"] MiB (every page written, so that a limit the
kernel only enforces on use, as a container's cgroup, sees it too); then writes its output.
"""

from utils import read_inputs, write_output

target = int(read_inputs()["mb"])
chunks = []
print(f"filling {target} MiB", flush=True)
while len(chunks) * 8 < target:
    chunks.append(b"\x01" * (8 << 20))
write_output({"filledMb": len(chunks) * 8})
