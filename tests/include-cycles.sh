#!/bin/bash
# Include cycles between modules: a module is foo.c with foo.h (and foo-provider.h, the
# interface its implementations fill in), an edge A -> B when a file of A includes a header
# of B.  A cycle is two modules that each include the other's header, directly or through
# others: neither sits below the other.  Prints every loop tsort finds; exits 1 if there is
# one.  Usage: tests/include-cycles.sh [DIR...]   (default: vswitch cni)
cd "$(dirname "$0")/.." || exit 2
dirs=${*:-vswitch cni}
edges=$(
    for f in $(find $dirs -name '*.[ch]'); do
        from=${f%.[ch]}
        from=${from%-provider}
        grep -o '^#include "[^"]*"' "$f" | sed 's/^#include "//; s/"$//' | while read -r inc; do
            for base in vswitch . "$(dirname "$f")"; do
                if [ -f "$base/$inc" ]; then
                    to=$(realpath --relative-to=. "$base/$inc")
                    to=${to%.[ch]}
                    to=${to%.def}
                    to=${to%-provider}
                    [ "$to" != "$from" ] && echo "$from $to"
                    break
                fi
            done
        done
    done | sort -u)
loops=$(echo "$edges" | tsort 2>&1 >/dev/null)
if [ -n "$loops" ]; then
    echo "$loops"
    exit 1
fi
echo "no include cycle in $dirs ($(echo "$edges" | wc -l) module edges)"
