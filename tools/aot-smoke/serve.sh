#!/usr/bin/env bash
# The NativeAOT binary as the caption daemon: `serve` with a replayed captions file on a free loopback port; the SSE
# stream, /health, /captions.srt and the page must answer (minimal APIs and JSON are source-generated, so a trimming
# mistake shows here, not under the JIT), and SIGTERM must end it with exit code 0. Called by ./build.sh test.
set -euo pipefail
AOT=${1:?usage: serve.sh AOT_BINARY}
WORK=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
fail() { echo "aot smoke (serve): $*" >&2; cat "$WORK/serve.log" >&2 || true; exit 1; }

printf '%s\n' '{"utterance":1,"final":false,"text":"edge ca","at":0}' '{"utterance":1,"final":true,"text":"edge captions","end":1.2,"at":0}' \
  > "$WORK/replay.jsonl"
PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$AOT" serve --replay "$WORK/replay.jsonl" --journal "$WORK/journal.jsonl" --port "$PORT" 2>"$WORK/serve.log" &
PID=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/serve.log" && break; sleep 0.1; done
grep -q "listening on" "$WORK/serve.log" || fail "did not start listening"
BASE="http://127.0.0.1:$PORT"
curl -sf -N --max-time 2 "$BASE/captions?after=0" > "$WORK/sse.txt" || [ $? -eq 28 ] || fail "/captions failed"
grep -q '^id: 1$' "$WORK/sse.txt" && grep -q '"text":"edge captions"' "$WORK/sse.txt" || fail "/captions did not replay final 1: $(cat "$WORK/sse.txt")"
curl -sf "$BASE/health" | grep -q '"status":"ok"' || fail "/health is not ok"
curl -sf "$BASE/captions.srt" | grep -q '^edge captions$' || fail "/captions.srt has no cue"
curl -sf "$BASE/" | grep -q EventSource || fail "/ is not the kiosk page"
kill -TERM "$PID"
code=0; wait "$PID" || code=$?
PID=
[ "$code" -eq 0 ] || fail "exit code $code after SIGTERM (expected 0)"
grep -q '"id":1,' "$WORK/journal.jsonl" || fail "the journal has no final 1"
echo "aot smoke (serve): SSE, /health, SRT, page and SIGTERM drain passed" >&2
