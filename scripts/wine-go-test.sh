#!/usr/bin/env bash
# wine-go-test.sh — run this module's Windows tests (GOOS=windows GOARCH=amd64)
# under Wine on Debian 12, headless, as root or as a normal user.
#
#   usage: scripts/wine-go-test.sh [go test args...]
#   e.g.   scripts/wine-go-test.sh -count=1 ./vault/backend/dpapi/...
#
# Needs wine64, wine and gcc-mingw-w64-x86-64-win32 (Debian packages). When
# they are missing the script says how to install them and exits 3; with
# PALYRA_WINE_INSTALL=1 it installs them itself with apt-get (root only).
#
# What it handles:
#  * Debian 12's Wine 8.0 has no bcryptprimitives.dll, so every Go >= 1.22
#    Windows binary dies at start ("bcryptprimitives.dll not found"). A
#    15-line shim exporting ProcessPrng (-> RtlGenRandom) is built with mingw
#    into the prefix's system32.
#  * The first run creates the prefix (wineboot -i, 15-60 s); later runs
#    reuse it (about 1.5 s of overhead).
#  * wineserver and Wine's helper processes are started up front with stdio
#    detached; otherwise the first test binary spawns them, they inherit its
#    stdout pipe and `go test` waits for them to exit.
#  * Runs sharing one prefix are serialised with flock, since the final
#    `wineserver -k` (which stops only this prefix's processes) would
#    otherwise kill a concurrent run's tests.
#
# Known Wine limits the tests must allow for (they detect Wine through
# ntdll's wine_get_version and skip with a message): os.RemoveAll and
# t.TempDir cleanup fail ("Invalid function"); DPAPI blobs are not bound to
# the user; SetNamedSecurityInfo succeeds but ACLs are not enforced.
set -euo pipefail

cd "$(dirname "$0")/.."

export WINEPREFIX=${WINEPREFIX:-/tmp/palyra-wine-go-test}
export WINEARCH=win64 WINEDEBUG=${WINEDEBUG:--all}
unset DISPLAY WAYLAND_DISPLAY

missing=()
command -v wine >/dev/null 2>&1 || missing+=(wine64 wine)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing+=(gcc-mingw-w64-x86-64-win32)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${PALYRA_WINE_INSTALL:-}" = 1 ]; then
    apt-get update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wine64 wine gcc-mingw-w64-x86-64-win32 >/dev/null
  else
    echo "wine-go-test: missing ${missing[*]}" >&2
    echo "wine-go-test: hint: apt-get install -y --no-install-recommends wine64 wine gcc-mingw-w64-x86-64-win32 (or set PALYRA_WINE_INSTALL=1)" >&2
    exit 3
  fi
fi

mkdir -p "$(dirname "$WINEPREFIX")"
exec 9>"$WINEPREFIX.lock"
flock 9

cleanup() { wineserver -k 2>/dev/null || true; wineserver -w 2>/dev/null || true; }
trap cleanup EXIT

if [ ! -f "$WINEPREFIX/system.reg" ]; then
  t0=$(date +%s%N)
  wineboot -i >/dev/null 2>&1
  wineserver -w
  echo "wine-go-test: created prefix $WINEPREFIX in $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&2
fi

DLL="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
if [ ! -f "$DLL" ]; then
  src=$(mktemp -d)
  cat >"$src/bcryptprimitives.c" <<'CSRC'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len); /* advapi32 RtlGenRandom */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n; len -= n;
    }
    return TRUE;
}
BOOL WINAPI DllMain(HINSTANCE h, DWORD r, LPVOID p) { (void)h; (void)r; (void)p; return TRUE; }
CSRC
  x86_64-w64-mingw32-gcc -O2 -shared -s -o "$DLL.tmp" "$src/bcryptprimitives.c" -ladvapi32
  mv "$DLL.tmp" "$DLL"
  rm -f "$src/bcryptprimitives.c"
  rmdir "$src"
fi

wineserver -p </dev/null >/dev/null 2>&1        # persistent until -k
wine wineboot </dev/null >/dev/null 2>&1        # start helper processes detached

# go test builds one .test.exe per package and runs it through wine.
GOOS=windows GOARCH=amd64 go test -exec wine "$@"
