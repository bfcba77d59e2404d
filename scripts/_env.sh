# shellcheck shell=bash
# Sourced by the scripts: make sure uv is there and the locked environment is installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export UV_PYTHON_DOWNLOADS=never  # use the machine's Python (>= 3.11), never fetch one

# uv: the one on PATH, else python3's own module, else a private venv of ours. No `pip install
# --user`: an externally managed Python (PEP 668: Debian, Ubuntu, Homebrew...) refuses it.
_uv_venv="${XDG_CACHE_HOME:-$HOME/.cache}/bzpeer/uv-venv"
if command -v uv >/dev/null 2>&1; then
  UV=(uv)
elif python3 -m uv --version >/dev/null 2>&1; then
  UV=(python3 -m uv)
else
  if ! "$_uv_venv/bin/uv" --version >/dev/null 2>&1; then
    echo "installing uv into $_uv_venv ..." >&2
    if ! { python3 -m venv --clear "$_uv_venv" >/dev/null \
      && "$_uv_venv/bin/python" -m pip install --quiet --disable-pip-version-check uv; }; then
      echo "could not install uv: install uv, or python3-venv (apt-get install python3-venv)" >&2
      exit 1
    fi
  fi
  UV=("$_uv_venv/bin/uv")
fi
unset _uv_venv
# Bytecode compiled at install: where PYTHONDONTWRITEBYTECODE is set (as on our CI machine) every
# process (server, worker, import, each test's server) would otherwise compile the libraries
# again, about 3 s of CPU each.
export UV_COMPILE_BYTECODE=1
"${UV[@]}" sync --frozen --quiet
