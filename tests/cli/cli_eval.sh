#!/usr/bin/env bash
# `freehead eval` end to end with the shipped models on a small fresh dataset (what the command
# writes; the numbers themselves are judged in tests/test_eval.cpp and docs/evaluation.md), and
# the inputs it cannot score — each a clear error naming the folder or flag, non-zero exit.
# usage: tests/cli/cli_eval.sh path/to/freehead
set -uo pipefail
freehead=${1:?usage: cli_eval.sh path/to/freehead}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/expect.sh"

"$freehead" synth --out "$work/data" --identities 6 --clips-per-identity 1 --frames 16 --size 64 --seed 3 \
  --pairs 3 --quiet >/dev/null
"$freehead" synth --out "$work/plain" --identities 3 --clips-per-identity 1 --frames 16 --size 64 --seed 3 \
  --quiet >/dev/null

expect "eval prints and writes every table" 0 "## The components alone" \
  "$freehead" eval --data "$work/data" --out "$work/out" --sources 1,2 --drivers-per-clip 2 --component-frames 2
for f in eval.md eval.json self_cases.png cross_cases.png; do
  [ -s "$work/out/$f" ] || { echo "FAIL eval did not write $f"; failures=$((failures + 1)); }
done
expect "eval.json holds the four tables" 0 "^components cross nshot self$" /usr/bin/python3 -c "
import json; print(' '.join(sorted(json.load(open('$work/out/eval.json'))['tables'])))"

expect "a dataset without triples, cross asked" 1 "holds no evaluation triples" \
  "$freehead" eval --data "$work/plain" --out "$work/bad1"
expect "the same dataset without cross" 0 "## Self-reenactment" \
  "$freehead" eval --data "$work/plain" --out "$work/ok2" --tables self --drivers-per-clip 2
expect "a missing dataset" 1 "$work/absent" "$freehead" eval --data "$work/absent" --out "$work/bad2"
expect "--sources 0" 2 "--sources: '0' is not a source count" \
  "$freehead" eval --data "$work/data" --out "$work/bad3" --sources 0
expect "--sources with a word" 2 "--sources: 'two' is not a source count" \
  "$freehead" eval --data "$work/data" --out "$work/bad4" --sources 1,two
expect "an unknown table" 2 "--tables: unknown table 'speed'" \
  "$freehead" eval --data "$work/data" --out "$work/bad5" --tables self,speed
expect "--drivers-per-clip 0" 2 "drivers-per-clip" \
  "$freehead" eval --data "$work/data" --out "$work/bad6" --drivers-per-clip 0
expect "no --data" 2 "--data" "$freehead" eval --out "$work/bad7"
expect "a models folder that is not one" 1 "models.json" \
  "$freehead" eval --data "$work/data" --out "$work/bad8" --models "$work/data"

finish "evaluation CLI"
