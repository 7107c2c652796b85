#!/usr/bin/env bash
# quickstart.sh — build palyra (and palyra-extra beside it), then store, read, list and delete a secret in
# a throwaway vault on the encrypted-file backend, showing each command
# before it runs. The vault (and its device key) live in a temporary
# directory that is removed at the end; your own vault is never touched.
#
#   usage: scripts/quickstart.sh      (or: make quickstart)
#
# Exits non-zero as soon as any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

step() {
  printf '\n$ %s\n' "$*"
}

step scripts/build.sh -o bin/palyra
scripts/build.sh -o bin/palyra
palyra="$PWD/bin/palyra"

step palyra --version
"$palyra" --version

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export PALYRA_STATE_ROOT="$tmp/state"
export PALYRA_VAULT_DIR="$tmp/vault"
export PALYRA_VAULT_BACKEND=encrypted_file
printf '\nThrowaway vault: PALYRA_STATE_ROOT=%s PALYRA_VAULT_DIR=%s PALYRA_VAULT_BACKEND=%s\n' \
  "$PALYRA_STATE_ROOT" "$PALYRA_VAULT_DIR" "$PALYRA_VAULT_BACKEND"

step "printf 'sk-test-123' | palyra secrets set global openai_api_key"
printf 'sk-test-123' | "$palyra" secrets set global openai_api_key

step palyra secrets get global openai_api_key
"$palyra" secrets get global openai_api_key

step palyra secrets get vault://global/openai_api_key --reveal
value="$("$palyra" secrets get vault://global/openai_api_key --reveal)"
printf '%s\n' "$value"
if [ "$value" != "sk-test-123" ]; then
  echo "quickstart: error: read back ${#value} bytes that differ from the value stored" >&2
  exit 1
fi

step palyra secrets list global
"$palyra" secrets list global

step palyra secrets list --json
"$palyra" secrets list --json

step palyra secrets delete global openai_api_key
"$palyra" secrets delete global openai_api_key

step palyra secrets list --json
listing="$("$palyra" secrets list --json)"
printf '%s\n' "$listing"
case "$listing" in
*'"count":0,'*) ;;
*)
  echo "quickstart: error: the vault is not empty after delete" >&2
  exit 1
  ;;
esac

printf '\nquickstart: ok (the throwaway vault is removed on exit)\n'
