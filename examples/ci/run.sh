#!/usr/bin/env bash
# The steps the workflows in this folder run, one script so that a test runs exactly them
# (test/e2e/ci-workflow.test.ts) and a person can run them on a laptop.
#
#   run.sh synth                  the pull request job: no secret is read or needed
#   run.sh key                    install the deploy key from $BACKPLANE_SSH_KEY (mode 600)
#   run.sh cleanup                remove it (the workflows run this step always, even after a failure)
#   run.sh plan|drift|probe [ARGS...]   against the hosts, state in PostgreSQL
#
# Required everywhere: BACKPLANE_INVENTORY, the hosts file committed in the repository
# (addresses and host keys are reviewed like code; there is no fallback to example hosts).
# Required for plan/drift/probe: BACKPLANE_STACK (never guessed) and PG_CONN_STR (a runner has
# no state of its own: the state is shared in PostgreSQL). BACKPLANE_DIR is the project
# directory (default: the current one). Every host uses the deploy key: its path is the same in
# every job ($RUNNER_TEMP on GitHub-hosted runners, which start clean for each job), so the
# synthesized provider blocks of a pull request and of the default branch compare equal. On a
# self-hosted runner, run `cleanup` (as the workflows do) so no key stays for the next job.
set -euo pipefail
dir=${BACKPLANE_DIR:-.}
secrets=${BACKPLANE_CI_DIR:-${RUNNER_TEMP:-$HOME}/.backplane-ci}
key="$secrets/deploy_key"
# BACKPLANE_BIN: the command (default: the project's installed backplane)
bp() { (cd "$dir" && if [ -n "${BACKPLANE_BIN:-}" ]; then "$BACKPLANE_BIN" "$@"; else npx --no-install backplane "$@"; fi); }
need() { for v in "$@"; do [ -n "${!v:-}" ] || { echo "run.sh: $v is not set (see examples/ci/README.md)" >&2; exit 1; }; done; }
need BACKPLANE_INVENTORY
export BACKPLANE_STATE=pg BACKPLANE_IDENTITY_FILE=$key
BACKPLANE_INVENTORY=$(cd "$(dirname "$BACKPLANE_INVENTORY")" && pwd)/$(basename "$BACKPLANE_INVENTORY")
export BACKPLANE_INVENTORY

step=${1:-}
shift || true
case "$step" in
  synth)
    bp synth
    ;;
  key)
    need BACKPLANE_SSH_KEY
    install -d -m 700 "$secrets"
    install -m 600 /dev/null "$key"
    printf '%s\n' "$BACKPLANE_SSH_KEY" > "$key"
    ;;
  cleanup)
    rm -rf "$secrets"
    ;;
  plan|drift|probe)
    need BACKPLANE_STACK PG_CONN_STR
    [ -f "$key" ] || { echo "run.sh: no deploy key at $key: run 'run.sh key' first" >&2; exit 1; }
    case "$step" in
      plan) bp plan --stack "$BACKPLANE_STACK" --format markdown --detailed-exitcode "$@" ;;
      drift) bp drift --stack "$BACKPLANE_STACK" --format markdown "$@" ;;
      probe) bp probe --stack "$BACKPLANE_STACK" --format table "$@" ;;
    esac
    ;;
  *) echo "usage: run.sh synth|key|cleanup|plan|drift|probe [ARGS...]" >&2; exit 2 ;;
esac
