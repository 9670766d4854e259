#!/bin/bash
# Include cycles between modules (a module is foo.c with foo.h): an edge A -> B when a file of
# A includes B's header.  Prints every loop tsort finds; exits 1 if there is one.
cd "$(dirname "$0")/.." || exit 2
dirs=${*:-vswitch cni}
edges=$(
    for f in $(find $dirs -name '*.[ch]'); do
        from=${f%.[ch]}
        grep -o '^#include "[^"]*"' "$f" | sed 's/^#include "//; s/"$//' | while read -r inc; do
            for base in vswitch . "$(dirname "$f")"; do
                if [ -f "$base/$inc" ]; then
                    to=$(realpath --relative-to=. "$base/$inc")
                    to=${to%.[ch]}
                    to=${to%.def}
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
