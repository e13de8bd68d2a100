#!/usr/bin/env bash
# `make test-peers`: mat's OpenAI client against a real llama.cpp server (llama-cpp-python) that
# serves a tiny random-weight model. The replies are nonsense; what is checked is the wire: SSE
# and whole replies, token counts, errors the server sends, seeds, and a server that dies
# mid-reply. Each case prints PASS or FAIL; the script exits 1 when any case failed, 2 when the
# test itself could not be set up. Not part of `make test`: the first run builds llama.cpp.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
VENV=$ROOT/tools/golden/.venv
PY=$VENV/bin/python
MAT=${MAT_BIN:-$ROOT/build/mat}  # MAT_BIN=PATH tests another build of mat
TASK=$(cat examples/table-sum/task.txt)
IMAGE=$ROOT/examples/table-sum/table.png
N_CTX=8192       # room for a reply that runs on to the end of the context (case 7)
RUN_LIMIT_S=300  # no mat run may take longer than this, whatever it does

setup_failed() { echo "test-peers: $*" >&2; exit 2; }

# --- setup -----------------------------------------------------------------------------------

if [[ ! -x $PY ]]; then
  python3 -m venv "$VENV" ||
    setup_failed "cannot create $VENV (on Debian: apt-get install python3-venv)"
fi
# pip is asked only when requirements.txt changed: even a satisfied pin costs a trip to the index,
# and a changed one rebuilds llama.cpp (10-30 minutes on two cores).
if ! cmp -s tools/peers/requirements.txt "$VENV/.peers-requirements"; then
  echo "test-peers: installing tools/peers/requirements.txt (a first install builds llama.cpp)"
  CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
    "$VENV/bin/pip" install -r tools/peers/requirements.txt ||
    setup_failed "pip install -r tools/peers/requirements.txt failed"
  cp tools/peers/requirements.txt "$VENV/.peers-requirements"
fi
[[ -x $MAT || -n ${MAT_BIN:-} ]] || make build || setup_failed "make build failed"
[[ -x $MAT ]] || setup_failed "no mat binary at $MAT"

TMP=$(mktemp -d -t mat-peers.XXXXXX)
SERVER_PID=
SERVER_STARTS=0
MAT_PID=
PASSED=()
FAILED=()

stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  kill "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=
}

cleanup() {
  [[ -n $MAT_PID ]] && kill "$MAT_PID" 2>/dev/null
  stop_server
  # A failed case's records and logs are what explains it: keep them.
  if ((${#FAILED[@]})); then
    echo "test-peers: records and server logs kept in $TMP"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

GGUF=$TMP/tiny.gguf
"$PY" tools/peers/make_tiny_gguf.py "$GGUF" >/dev/null || setup_failed "make_tiny_gguf.py failed"

# The fixture must be a real tokenizer, or every token count below means nothing.
vocab_round_trips() {
  "$PY" - "$GGUF" 2>"$TMP/vocab.log" <<'EOF'
import sys
from llama_cpp import Llama
vocab = Llama(sys.argv[1], vocab_only=True, verbose=False)
for text in ["What is the sum of the numbers in the table?",
             "def add(a, b):\n    return a + b\n\nprint(add(2, 3))  # 5",
             "Café: naïve “quotes” — and 数字 too."]:
    tokens = vocab.tokenize(text.encode(), add_bos=False)
    assert vocab.detokenize(tokens).decode() == text, text
    assert len(tokens) < len(text.encode()), f"no merges used for {text!r}"
EOF
}
vocab_round_trips ||
  setup_failed "the tiny model's vocabulary does not round-trip: $(tail -3 "$TMP/vocab.log")"

now() { date +%s.%N; }
seconds_since() {
  "$PY" -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.1f}")' "$1"
}
less_than() {
  "$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$1" "$2"
}

start_server() {
  PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
  BASE=http://127.0.0.1:$PORT/v1
  SERVER_STARTS=$((SERVER_STARTS + 1))
  SERVER_LOG=$TMP/server-$SERVER_STARTS.log
  # No --chat_format: the built-in `chatml` one drops image messages without a word, while the
  # model's own template refuses them as llama.cpp's server does (see make_tiny_gguf.py).
  "$PY" -m llama_cpp.server --model "$GGUF" --model_alias tiny --host 127.0.0.1 --port "$PORT" \
    --n_ctx "$N_CTX" --n_threads 1 >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 120); do
    curl -sf -o /dev/null "$BASE/models" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.5
  done
  tail -20 "$SERVER_LOG" >&2
  setup_failed "llama_cpp.server did not come up on port $PORT (log above)"
}

# The requests the server has answered so far (uvicorn's access log).
requests_served() { grep -c 'POST /v1/chat/completions' "$SERVER_LOG"; }

# --- what a case is made of ----------------------------------------------------------------

CASE=
PROBLEMS=()
begin_case() { CASE=$1; PROBLEMS=(); echo "== $CASE"; }
note() { echo "   $*"; }
# check DESCRIPTION COMMAND...: the command must succeed, or the case fails for that reason.
check() { local what=$1; shift; "$@" || PROBLEMS+=("$what"); }
end_case() {
  if ((${#PROBLEMS[@]})); then
    echo "FAIL $CASE"
    printf '     - %s\n' "${PROBLEMS[@]}"
    FAILED+=("$CASE")
  else
    echo "PASS $CASE"
    PASSED+=("$CASE")
  fi
}

# rq RECORD EXPR: a Python expression over the parsed record `r`, printed (non-strings as JSON).
# The expression may span lines.
rq() {
  "$PY" -c 'import json, sys; r = json.load(open(sys.argv[1])); v = eval(f"({sys.argv[2]})")
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2" 2>/dev/null
}
# holds RECORD EXPR: succeeds when the expression is true of the record.
holds() {
  "$PY" -c 'import json, sys; r = json.load(open(sys.argv[1]))
sys.exit(0 if eval(f"({sys.argv[2]})") else 1)' "$1" "$2" 2>/dev/null
}

# Newer builds of mat also take a run folder (for the images shown to the model), which would
# otherwise default to ./mat-runs/.
HAS_RUN_DIR=0
"$MAT" run --help 2>/dev/null | grep -q -- --run-dir && HAS_RUN_DIR=1

# place DIR: sets PLACE to the options that put a run under DIR (a workdir that does not exist
# yet, the record at DIR/record.json) and REC to that record.
place() {
  mkdir -p "$1"
  REC=$1/record.json
  PLACE=(--workdir "$1/work" --out "$REC")
  if ((HAS_RUN_DIR)); then PLACE+=(--run-dir "$1/run"); fi
}

# run_mat NAME ARGS...: mat on the example task, quiet, placed under $TMP/NAME/ with its stdout
# and stderr. Sets RC, SECS and REC.
run_mat() {
  local dir=$TMP/$1
  shift
  place "$dir"
  local start
  start=$(now)
  timeout "$RUN_LIMIT_S" "$MAT" run "$TASK" --model tiny --base-url "$BASE" "${PLACE[@]}" \
    --quiet "$@" >"$dir/stdout" 2>"$dir/stderr"
  RC=$?
  SECS=$(seconds_since "$start")
  note "mat exit $RC in $SECS s · $(tail -1 "$dir/stderr")"
}

describe_record() {
  note "end_reason $(rq "$1" 'r["end_reason"]') · error $(rq "$1" 'r["error"]')"
  note "steps (tokens_in, tokens_out, finish_reason):" \
    "$(rq "$1" '[(s["tokens_in"], s["tokens_out"], s.get("finish_reason")) for s in r["steps"]]')"
}

# A run that completed: a record, no error, an end that is not a failure, and steps whose token
# counts say the server's usage reached the record.
check_completed_run() {
  check "mat exited 0 or 1 (got $RC)" test "$RC" -le 1
  check "the record was written" test -s "$REC"
  check "the run ended normally (final_answer, max_steps, max_errors) with no error" \
    holds "$REC" 'r["end_reason"] in ("final_answer", "max_steps", "max_errors") and
                  r["error"] is None'
  check "the record has steps" holds "$REC" 'len(r["steps"]) > 0'
  # A server that reports no usage leaves mat nothing to record: zero is then the right count.
  [[ "${1:-}" == "--no-usage-reported" ]] && return
  check "every step has non-zero tokens_in and tokens_out" \
    holds "$REC" 'r["steps"] and all(s["tokens_in"] > 0 and s["tokens_out"] > 0
                                     for s in r["steps"])'
}

# Whether the server puts usage in a streamed reply when asked to (stream_options.include_usage).
server_streams_usage() {
  "$PY" - "$BASE" <<'EOF'
import json, sys, urllib.request
body = {"model": "tiny", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 4,
        "stream": True, "stream_options": {"include_usage": True}}
request = urllib.request.Request(sys.argv[1] + "/chat/completions", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
with urllib.request.urlopen(request, timeout=60) as reply:
    events = [line[6:] for line in reply.read().decode().splitlines() if line.startswith("data: {")]
sys.exit(0 if any(json.loads(e).get("usage") for e in events) else 1)
EOF
}

# --- the cases -------------------------------------------------------------------------------

start_server
echo "test-peers: llama_cpp.server on $BASE, records in $TMP"

begin_case "1 streaming run"
run_mat stream --max-steps 2 --max-tokens 64
STREAM_REC=$REC
describe_record "$REC"
if server_streams_usage; then
  check_completed_run
else
  note "the server sends no usage in streamed replies, even when asked: token counts not checked"
  check_completed_run --no-usage-reported
fi
end_case

begin_case "2 --no-stream run"
run_mat whole --max-steps 2 --max-tokens 64 --no-stream
WHOLE_REC=$REC
describe_record "$REC"
check_completed_run
end_case

# llama-cpp-python reports a failure to render the prompt only to a whole-reply request (HTTP 500
# with the reason, as llama.cpp's own server does before any stream starts); a streamed request
# gets 200 and an empty event stream. So the reason can only be checked without streaming (3),
# and the streamed request (3b) only for ending quickly.
begin_case "3 image sent to a text-only model (--no-stream)"
BEFORE=$(requests_served)
run_mat image --max-steps 2 --max-tokens 64 --no-stream --file "$IMAGE"
describe_record "$REC"
note "requests mat sent: $(($(requests_served) - BEFORE))"
check "it ended within 30 s (took $SECS s)" less_than "$SECS" 30
check "mat exited 1 (got $RC)" test "$RC" -eq 1
check "end_reason is model_error" holds "$REC" 'r["end_reason"] == "model_error"'
check "the record's error passes on the server's reason (image input, mmproj)" \
  holds "$REC" '"mmproj" in (r["error"] or "")'
check "the reason is on stderr too" grep -q mmproj "$TMP/image/stderr"
check "the advice does not blame load ('overloaded') for a refused request" \
  holds "$REC" '"overloaded" not in (r["error"] or "")'
end_case

begin_case "3b image sent to a text-only model (streamed)"
BEFORE=$(requests_served)
run_mat image-stream --max-steps 2 --max-tokens 64 --file "$IMAGE"
describe_record "$REC"
note "requests mat sent: $(($(requests_served) - BEFORE))"
check "it ended within 30 s (took $SECS s)" less_than "$SECS" 30
check "mat exited 1 (got $RC)" test "$RC" -eq 1
check "end_reason is model_error, with an error" \
  holds "$REC" 'r["end_reason"] == "model_error" and r["error"]'
end_case

begin_case "4 sampling: --seed and --temperature"
SAMPLING=(--max-steps 1 --max-tokens 48 --temperature 0.8)
# Every reply of a run: its step and the best-answer request that ends it.
replies() {
  rq "$1" '[s["raw"] for s in r["steps"]] + [(r["best_answer_request"] or {}).get("raw")]'
}
run_mat seed7a "${SAMPLING[@]}" --seed 7
check "the first seed-7 run recorded a step" holds "$REC" 'r["steps"]'
A=$(replies "$REC")
run_mat seed7b "${SAMPLING[@]}" --seed 7
check "the second seed-7 run recorded a step" holds "$REC" 'r["steps"]'
B=$(replies "$REC")
run_mat seed8 "${SAMPLING[@]}" --seed 8
check "the seed-8 run recorded a step" holds "$REC" 'r["steps"]'
C=$(replies "$REC")
note "seed 7: ${A:0:100}"
note "seed 7: ${B:0:100}"
note "seed 8: ${C:0:100}"
check "the same seed gives the same text" test "$A" == "$B"
check "another seed gives other text" test "$A" != "$C"
[[ $A == "$B" && $A == "$C" ]] && note "the server appears to ignore the seed"
end_case

begin_case "5 server killed mid-reply"
# Not quiet: the text streamed to stdout is how the script sees that the reply has begun.
DIR=$TMP/killed
place "$DIR"
timeout "$RUN_LIMIT_S" "$MAT" run "$TASK" --model tiny --base-url "$BASE" "${PLACE[@]}" \
  --max-steps 1 --max-tokens 2048 >"$DIR/stdout" 2>"$DIR/stderr" &
MAT_PID=$!
shown_bytes() { sed -n '/── Step 0 ──/,$p' "$DIR/stdout" | tail -n +2 | wc -c; }
for _ in $(seq 600); do (($(shown_bytes) > 0)) && break; sleep 0.05; done
sleep 1
SHOWN=$(shown_bytes)
STEP_ENDED=$(grep -c '^\[model ' "$DIR/stdout")  # the line mat prints when a step is over
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
KILLED_AT=$(now)
note "killed the server after $SHOWN bytes of the reply had been shown"
for _ in $(seq 600); do kill -0 "$MAT_PID" 2>/dev/null || break; sleep 0.1; done
AFTER_KILL=$(seconds_since "$KILLED_AT")
kill "$MAT_PID" 2>/dev/null
wait "$MAT_PID"
RC=$?
MAT_PID=
note "mat exit $RC $AFTER_KILL s after the kill · $(tail -1 "$DIR/stderr")"
describe_record "$REC"
check "the kill came while step 0 was streaming" test "$SHOWN" -gt 0 -a "$STEP_ENDED" -eq 0
check "mat exited non-zero (got $RC)" test "$RC" -ne 0
check "mat ended within 30 s of the kill (took $AFTER_KILL s)" less_than "$AFTER_KILL" 30
check "the record was written" test -s "$REC"
check "end_reason is model_error, with an error" \
  holds "$REC" 'r["end_reason"] == "model_error" and r["error"]'
# What was streamed is all the run has to show for its last request: the record must keep it.
PARTIAL=$(rq "$REC" 'r["steps"][-1]["raw"] if r["steps"] else ""')
check "the record keeps the failed step with its partial text" test -n "$PARTIAL"
[[ -n $PARTIAL ]] &&
  check "that text is the text mat showed" grep -qF -- "${PARTIAL:0:40}" "$DIR/stdout"
end_case

start_server
note "restarted llama_cpp.server on $BASE"

begin_case "6 finish_reason recorded"
# Every reply in cases 1 and 2 was cut at --max-tokens (the model cannot emit its end token).
for rec in "$STREAM_REC" "$WHOLE_REC"; do
  run=$(basename "$(dirname "$rec")")
  note "$run: $(rq "$rec" '[s.get("finish_reason") for s in r["steps"]]')"
  check "every step of case '$run' records finish_reason" \
    holds "$rec" 'r["steps"] and all(s.get("finish_reason") for s in r["steps"])'
done
end_case

begin_case "7 a default max_tokens"
# Without --max-tokens, a model that never stops must still be capped by mat, not by the end of
# the server's context (which then leaves no room for the next request).
run_mat default-max-tokens --max-steps 1 --no-stream
describe_record "$REC"
check "step 0's reply stopped short of the context window ($N_CTX tokens)" \
  holds "$REC" "r['steps'] and
                r['steps'][0]['tokens_in'] + r['steps'][0]['tokens_out'] < $N_CTX - 64"
end_case

echo
for c in "${PASSED[@]}"; do echo "PASS $c"; done
for c in "${FAILED[@]}"; do echo "FAIL $c"; done
echo "peer cases: ${#PASSED[@]} passed, ${#FAILED[@]} failed"
((${#FAILED[@]} == 0))
