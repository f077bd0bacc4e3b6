# Sourced by the CLI test scripts: `expect NAME STATUS PATTERN COMMAND...` runs COMMAND and
# requires exit STATUS and PATTERN (an extended regex) somewhere in its stdout or stderr;
# each miss prints the output and counts in $failures. `finish LABEL` reports and exits.
# `st_file PATH HEADER` writes a safetensors file (data bytes from standard input).
failures=0

expect() {
  local name=$1 status=$2 pattern=$3
  shift 3
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$status" ] || ! grep -Eq -- "$pattern" <<<"$out"; then
    echo "FAIL $name: exit $rc (want $status), output:"
    echo "$out" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

finish() {
  [ "$failures" -eq 0 ] && echo "all $1 checks passed" || echo "$failures $1 check(s) failed"
  exit $((failures > 0))
}

# A safetensors file: the 8-byte little-endian header length, the JSON header, then the data
# (DATA bytes of standard input, none by default).
st_file() {
  local path=$1 header=$2 len=${#2} i
  {
    for ((i = 0; i < 8; ++i)); do printf "\\$(printf '%03o' $(((len >> (8 * i)) & 255)))"; done
    printf '%s' "$header"
    [ -t 0 ] || cat
  } >"$path"
}
