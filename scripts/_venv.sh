# Shared by demo.sh and test.sh: create .venv with a Python >= 3.11 and install the project.
# Usage: source scripts/_venv.sh; ensure_venv "<pip install target>"
ensure_venv() {
  local target="$1"
  local python="${PYTHON:-}"
  if [ -z "$python" ]; then
    for candidate in python3.11 python3.12 python3.13 python3; do
      if command -v "$candidate" >/dev/null 2>&1 &&
         "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        python="$candidate"; break
      fi
    done
  fi
  if [ -z "$python" ]; then
    echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
    exit 2
  fi
  if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
  fi
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$target" 2>&1 | { grep -v "^WARNING: Location" || true; }
  test "${PIPESTATUS[0]}" -eq 0
}
