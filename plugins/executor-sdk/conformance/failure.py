"""Says why on stderr and exits with code 3."""

import sys

print("failing on purpose", file=sys.stderr)
sys.exit(3)
