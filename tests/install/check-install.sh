#!/usr/bin/env bash
# Checks what `meson install` delivers, as a user of the library would meet it:
#   1. installs a build into a temporary DESTDIR;
#   2. the shared library has a soname (libtpuring.so.N) and exports only tpuring_* symbols;
#   3. every function the installed headers declare is exported (no declaration without code);
#   4. tests/install/prog.c builds with exactly `cc prog.c $(pkg-config --cflags --libs tpuring)`
#      against that install, and runs, printing OK;
#   5. the installed tpuring-check diagnostic runs.
#
# Usage: tests/install/check-install.sh BUILD_DIR
# Exit status: 0 pass, 1 fail, 77 skipped (a sanitizer build: a plain `cc` program cannot
# load a sanitized library).
set -euo pipefail

if [[ $# -ne 1 || ! -d $1 ]]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

failures=0
fail() { echo "install check: FAIL: $*" >&2; failures=$((failures + 1)); }
note() { echo "install check: $*"; }

for tool in meson pkg-config cc nm objdump; do
    command -v "$tool" >/dev/null || { echo "install check: needs $tool" >&2; exit 1; }
done

sanitize=$(meson introspect "$build" --buildoptions |
    python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "b_sanitize"))')
if [[ $sanitize != none ]]; then
    note "skipped: $build is a sanitizer build (b_sanitize=$sanitize)"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tpuring-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
destdir=$tmp/root

# ---- 1. install -------------------------------------------------------------------------
# --no-rebuild: the caller has just built (and tests may be running in the same tree).
meson install -C "$build" --no-rebuild --quiet --destdir "$destdir" >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2
    echo "install check: FAIL: meson install" >&2
    exit 1
}

pc=$(find "$destdir" -name tpuring.pc -print -quit)
[[ -n $pc ]] || { echo "install check: FAIL: no tpuring.pc installed" >&2; exit 1; }
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
note "installed into $destdir (libdir ${libdir#"$destdir"})"

for h in tpuring/win32.h tpuring/tpuring.h tpuring/win32/types.h tpuring/win32/threadpool.h; do
    [[ -n $(find "$destdir" -path "*/include/$h" -print -quit) ]] || fail "header $h not installed"
done
[[ -e $libdir/libtpuring.a ]] || fail "static library libtpuring.a not installed"

# ---- 2. soname and exported symbols --------------------------------------------------------
so=$libdir/libtpuring.so
if [[ ! -e $so ]]; then
    echo "install check: FAIL: $so not installed" >&2
    exit 1
fi
soname=$(objdump -p "$so" | awk '$1 == "SONAME" { print $2 }')
if [[ $soname =~ ^libtpuring\.so\.[0-9]+$ ]]; then
    [[ -e $libdir/$soname ]] || fail "soname $soname has no file or link in $libdir"
    note "soname $soname"
else
    fail "libtpuring.so has no versioned soname (got '${soname:-none}')"
fi

# Defined dynamic symbols, less the version node (type A), without @@VERSION suffixes.
nm -D --defined-only "$so" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u >"$tmp/exported"
grep -v '^tpuring_' "$tmp/exported" >"$tmp/foreign" || true
if [[ -s $tmp/foreign ]]; then
    fail "libtpuring.so exports symbols without the tpuring_ prefix:"
    sed 's/^/    /' "$tmp/foreign" | head -50 >&2
fi
note "$(wc -l <"$tmp/exported") symbols exported, all tpuring_*"

# ---- 3. what the headers declare is defined --------------------------------------------------
export PKG_CONFIG_PATH=$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
# The .pc file names the final prefix; the sysroot maps its -I/-L into the DESTDIR.
export PKG_CONFIG_SYSROOT_DIR=$destdir
# Preprocessed, every exported function's declaration carries TPURING_API's visibility
# attribute on one line; header-only (static inline) functions do not.
# shellcheck disable=SC2046  # the pkg-config output is a list of flags
echo '#include <tpuring/tpuring.h>' |
    cc -E -P -DTPURING_NO_WIN32_NAMES $(pkg-config --cflags tpuring) -x c - >"$tmp/decls.i"
grep -E 'visibility *\( *"default" *\)' "$tmp/decls.i" |
    grep -oE '\btpuring_[A-Za-z0-9_]+[[:space:]]*\(' | sed 's/[[:space:](]//g' |
    sort -u >"$tmp/declared"
[[ -s $tmp/declared ]] || fail "found no exported declarations in the installed headers"
comm -23 "$tmp/declared" "$tmp/exported" >"$tmp/missing"
if [[ -s $tmp/missing ]]; then
    fail "declared in the installed headers but not exported by libtpuring.so:"
    sed 's/^/    /' "$tmp/missing" >&2
fi
comm -13 "$tmp/declared" "$tmp/exported" >"$tmp/undeclared"
if [[ -s $tmp/undeclared ]]; then
    note "exported but not declared in the installed headers (internal hooks?):"
    sed 's/^/    /' "$tmp/undeclared"
fi
note "$(wc -l <"$tmp/declared") functions declared, all exported: $([[ -s $tmp/missing ]] && echo no || echo yes)"

# ---- 4. a user's program ------------------------------------------------------------------------
cp "$here/prog.c" "$tmp/prog.c"
(
    cd "$tmp"
    note "cc prog.c \$(pkg-config --cflags --libs tpuring)   [$(pkg-config --cflags --libs tpuring)]"
    # The exact line README.md gives (word splitting of the pkg-config output is intended).
    # shellcheck disable=SC2046
    cc prog.c $(pkg-config --cflags --libs tpuring)
) || { fail "prog.c does not build against the installed library"; exit 1; }

export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
resolved=$(ldd "$tmp/a.out" | awk '/libtpuring/ { print $3 }')
[[ $resolved == "$libdir"/* ]] || fail "a.out loads libtpuring from '${resolved:-nowhere}', not the install"
if out=$(timeout 60 "$tmp/a.out" 2>&1); then
    [[ $out == *OK* ]] || fail "prog printed '$out', not OK"
    note "prog: $out"
else
    rc=$?
    fail "prog exited with status $rc: $out"
fi

# The installed diagnostic runs against the installed library (its build-tree RPATH is gone).
check=$(find "$destdir" -path '*/bin/tpuring-check' -print -quit)
if [[ -n $check ]]; then
    if out=$(timeout 30 "$check" 2>&1); then
        note "tpuring-check: $(tail -n 1 <<<"$out")"
    else
        fail "installed tpuring-check exited with status $?: $out"
    fi
fi

if ((failures)); then
    echo "install check: FAILED ($failures problems)" >&2
    exit 1
fi
note "OK"
