#!/bin/sh
# Stands in for git in the fault suite: logs each git subcommand gwpipe runs, and at the chosen one
# (counted from 1 within this gwpipe process tree) kills gwpipe before or after it, or fails it.
sub=""
skip=0
for arg in "$@"; do
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case "$arg" in
        -c|-C) skip=1 ;;
        -*) ;;
        *) sub="$arg"; break ;;
    esac
done
[ -n "$GWPIPE_FAULT_LOG" ] && echo "$sub" >> "$GWPIPE_FAULT_LOG"
if [ "$sub" = "$GWPIPE_FAULT_STEP" ]; then
    case "$GWPIPE_FAULT_MODE" in
        kill-before) kill -9 "$PPID"; exit 137 ;;
        fail) echo "fatal: injected failure of git $sub" >&2; exit 128 ;;
        # as git dies when it outgrows `ulimit -f` while writing the index: its index.lock stays behind
        xfsz) : > "$GIT_DIR/index.lock"; kill -XFSZ $$ ;;
    esac
fi
"$GWPIPE_REAL_GIT" "$@"
status=$?
if [ "$sub" = "$GWPIPE_FAULT_STEP" ]; then
    case "$GWPIPE_FAULT_MODE" in
        kill-after) kill -9 "$PPID" ;;
        term-after) kill -TERM "$PPID" ;;
        hup-after) kill -HUP "$PPID" ;;
    esac
fi
exit $status
