#!/usr/bin/env bash
# The Python SDK's checks, as CI runs them (`npm run test:python` from the repository root, after
# `npm run build`): a virtualenv under .venv-sdk/ (made once, then reused), the wheel and sdist
# built in isolation, the SDK installed from that wheel, mypy --strict, then pytest against the
# real server that the tests start from dist/.
# PYTHON picks the interpreter (default python3; the SDK supports 3.9 and later),
# TENSORIFY_SDK_VENV the virtualenv's directory.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(cd ../.. && pwd)"
venv="${TENSORIFY_SDK_VENV:-$root/.venv-sdk}"
python="${PYTHON:-python3}"
# Packages come from the configured index or mirror; an unreachable one fails at once instead of retrying.
export PIP_RETRIES="${PIP_RETRIES:-0}"

if [ ! -x "$venv/bin/python" ]; then
  echo "== virtualenv $venv ($("$python" --version))"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet build 'pytest>=7' 'mypy>=1.8'

echo "== wheel and sdist"
rm -rf dist
"$venv/bin/python" -m build --outdir dist . >/dev/null
ls dist
"${pip[@]}" install --quiet dist/tensorify-*.whl                                   # its dependencies, when missing
"${pip[@]}" install --quiet --force-reinstall --no-deps dist/tensorify-*.whl       # this very build

echo "== mypy --strict"
"$venv/bin/python" -m mypy --strict src/tensorify

echo "== pytest"
# From a directory outside the source tree: the tests import the installed wheel, not src/.
"$venv/bin/python" -m pytest -q -p no:cacheprovider --rootdir . tests "$@"
