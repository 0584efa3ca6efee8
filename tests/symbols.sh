#!/usr/bin/env bash
# symbols.sh LIB INCLUDE_DIR CC - libordnet.so exports exactly its public API: every symbol
# `nm -D --defined-only` lists is a function declared in the public headers (include/*.h),
# and every function they declare is exported (a declaration without its definition, or
# one hidden by -fvisibility=hidden, would fail a user's link).
set -u
lib=$1 inc=$2 cc=$3
fails=0

# the public functions: the headers preprocessed (no comments), names called like f(
declared=$(for h in "$inc"/*.h; do echo "#include \"$(basename "$h")\""; done |
    "$cc" -E -P -I "$inc" -x c - | grep -oE '\bon_[A-Za-z0-9_]+[[:space:]]*\(' |
    grep -oE '^on_[A-Za-z0-9_]+' | sort -u)
# what the library exports (less the linker's own markers)
exported=$(nm -D --defined-only "$lib" | awk '{print $NF}' |
    grep -vxE '_init|_fini|__bss_start|_edata|_end' | sed 's/@.*//' | sort -u)

[ -n "$declared" ] || { echo "FAIL: no declarations found in $inc"; exit 1; }
extra=$(comm -13 <(echo "$declared") <(echo "$exported"))
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
if [ -n "$extra" ]; then
    echo "FAIL: $lib exports symbols no public header declares:"
    echo "$extra" | sed 's/^/  /'
    fails=1
fi
if [ -n "$missing" ]; then
    echo "FAIL: public functions $lib does not export:"
    echo "$missing" | sed 's/^/  /'
    fails=1
fi
echo "$(echo "$exported" | wc -l) exported, $(echo "$declared" | wc -l) declared"
exit $fails
