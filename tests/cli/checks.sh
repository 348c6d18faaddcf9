# The checks the command-line scripts share: each runs a command, prints "ok: ..." or
# "FAIL: ..." with the output, and counts failures in $failures (which the script sets to 0
# and turns into its exit status). Sourced, not run.

# expect DESCRIPTION PATTERN COMMAND...: the command succeeds and its output matches PATTERN.
expect() {
  local what=$1 pattern=$2
  shift 2
  local output status=0
  output=$("$@" 2>&1) || status=$?
  if [ "$status" -ne 0 ]; then
    echo "FAIL: $what: exit status $status"; echo "$output"; failures=$((failures + 1)); return
  fi
  if ! grep -qE -- "$pattern" <<<"$output"; then
    echo "FAIL: $what: no match for /$pattern/ in:"; echo "$output"; failures=$((failures + 1)); return
  fi
  echo "ok: $what"
}

# refuse DESCRIPTION PATTERN COMMAND...: the command fails, not by a signal (an abort is
# a crash, not a refusal), and its output matches PATTERN.
refuse() {
  local what=$1 pattern=$2
  shift 2
  local output status=0
  output=$("$@" 2>&1) || status=$?
  if [ "$status" -eq 0 ]; then
    echo "FAIL: $what: succeeded"; echo "$output"; failures=$((failures + 1)); return
  fi
  if [ "$status" -ge 128 ]; then
    echo "FAIL: $what: crashed with exit status $status"; echo "$output"; failures=$((failures + 1)); return
  fi
  if ! grep -qE -- "$pattern" <<<"$output"; then
    echo "FAIL: $what: no match for /$pattern/ in:"; echo "$output"; failures=$((failures + 1)); return
  fi
  echo "ok: $what"
}

# status DESCRIPTION STATUS PATTERN COMMAND...: the command exits with STATUS and its
# output matches PATTERN.
status() {
  local what=$1 wanted=$2 pattern=$3
  shift 3
  local output got=0
  output=$("$@" 2>&1) || got=$?
  if [ "$got" -ne "$wanted" ]; then
    echo "FAIL: $what: exit status $got, not $wanted"; echo "$output"; failures=$((failures + 1)); return
  fi
  if ! grep -qE -- "$pattern" <<<"$output"; then
    echo "FAIL: $what: no match for /$pattern/ in:"; echo "$output"; failures=$((failures + 1)); return
  fi
  echo "ok: $what"
}
