#!/usr/bin/env bash
# The rules every change is held to (issue 14): C# lines of at most 160 characters, and commit subjects of at most
# 72 characters with a body for every commit after history-base (the landed history before it stays as it is).
set -euo pipefail
cd "$(dirname "$0")/../.."
status=0

long=$(git ls-files -z -- '*.cs' | LC_ALL=C.UTF-8 xargs -0 grep -nP '^.{161,}$' | cut -c1-120 || true)
if [ -n "$long" ]; then
  echo "style: C# lines over 160 characters:" >&2
  echo "$long" >&2
  status=1
fi

base=$(cat tools/style/history-base)
if git cat-file -e "$base^{commit}" 2>/dev/null; then
  while IFS=$'\t' read -r hash subject; do
    if [ "${#subject}" -gt 72 ]; then
      echo "style: commit ${hash:0:12}: subject of ${#subject} characters (at most 72): $subject" >&2
      status=1
    fi
    if [ -z "$(git log -1 --format=%b "$hash" | tr -d '[:space:]')" ]; then
      echo "style: commit ${hash:0:12}: no body saying why: $subject" >&2
      status=1
    fi
  done < <(git log --format='%H%x09%s' "$base"..HEAD)
else
  echo "style: history-base $base is not in this clone (shallow?): commit messages not checked" >&2
fi
exit $status
