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
  # the build backend's notes (setuptools warns about every editable install) go to a log, shown on failure
  if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$target" > .venv/pip-install.log 2>&1; then
    cat .venv/pip-install.log >&2
    echo "error: installing the project into .venv failed (the log above is in .venv/pip-install.log)" >&2
    return 1
  fi
  # pip compiles the bytecode of what it installs, but an editable install leaves the project's own
  # modules as source: with PYTHONDONTWRITEBYTECODE set (as on CI machines) every dq command would
  # compile them again (dq --help: 0.38 s instead of 0.30 s). Compile them once here.
  .venv/bin/python - <<'PY' || { echo "error: a module of the project does not compile (above)" >&2; return 1; }
import compileall, sys, tomllib
from pathlib import Path

include = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
roots = {pattern.rstrip("*") for pattern in include}
folders = [p for p in sorted(Path(".").iterdir()) if p.is_dir() and p.name in roots]
ok = all(compileall.compile_dir(p, quiet=1, workers=0) for p in folders)
ok = all(compileall.compile_file(p, quiet=1) for p in sorted(Path(".").glob("*.py"))) and ok
sys.exit(0 if ok else 1)
PY
}
