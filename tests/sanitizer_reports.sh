# Sourced by the shell tests: in a sanitizer build (tools/sanitize.sh), a report that a program
# wrote to a log under the test's work directory fails the test, even when the program's exit
# status was what the test expected (a refused command, a SIGKILLed parleyd).
# sanitizer_reports DIR: prints each report found in DIR's files and returns 0 if there was any.
sanitizer_reports() {
  local found=1 f
  for f in "$1"/*; do
    [ -f "$f" ] || continue
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|: runtime error: ' "$f"; then
      echo "FAIL: sanitizer report in $(basename "$f"):" >&2
      grep -A40 -E 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|: runtime error: ' \
        "$f" | head -80 >&2
      found=0
    fi
  done
  return $found
}
