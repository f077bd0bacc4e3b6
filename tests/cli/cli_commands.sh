#!/usr/bin/env bash
# The CLI's commands end to end: init, bench and cost on a tiny network, and the errors a
# user meets first (an unknown --net, a truncated weights file, a missing inputs file), each
# with its exit status and a message naming the flag or the file.
# usage: tests/cli/cli_commands.sh path/to/freehead
set -uo pipefail
freehead=${1:?usage: cli_commands.sh path/to/freehead}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/expect.sh"

weights=$work/kp.safetensors
expect "init writes a weights file" 0 "kp\.safetensors: [0-9]+ tensors, [0-9]+ parameters" \
  "$freehead" init --net kp --config tiny --seed 1 --out "$weights"
# init reports the parameters it wrote, cost those of the network it builds: they agree.
params=$("$freehead" init --net kp --config tiny --seed 2 --out "$work/kp2.safetensors" | sed -E 's/.* ([0-9]+) parameters.*/\1/')
expect "cost lists the network with init's parameter count" 0 "\| kp \| tiny \| .* \| $params \|" \
  "$freehead" cost --net kp --config tiny
expect "bench times a forward and a forward+backward" 0 "forward\+backward +[0-9.]+ ms" \
  "$freehead" bench --net kp --config tiny --weights "$weights" --iters 1

expect "an unknown --net is a usage error naming the flag" 2 "--net must be one of .*got 'nope'" \
  "$freehead" init --net nope --config tiny --seed 1 --out "$work/x.safetensors"
head -c 1000 "$weights" >"$work/truncated.safetensors"
expect "a truncated weights file is refused by name" 1 "truncated\.safetensors: header length [0-9]+ does not fit the file" \
  "$freehead" bench --net kp --config tiny --weights "$work/truncated.safetensors" --iters 1
expect "a missing inputs file is refused by name" 1 "nothere\.safetensors" \
  "$freehead" run --net kp --config tiny --weights "$weights" --inputs "$work/nothere.safetensors" \
  --output "$work/out.safetensors"
[ ! -e "$work/out.safetensors" ] || { echo "FAIL a failed run left an output file"; failures=$((failures + 1)); }

finish "CLI"
