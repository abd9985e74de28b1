"""Resolves a profile's hot functions to the symbol names of each server build.

The symbols of a Rust function end with a hash of its crate's build configuration, which
differs between `cargo build --release` and the benchmark's build (dev-dependencies turn on
other features). So each hot function of the profiled build is found in the other builds by
its name without that hash and by its size (a generic function's instances share a name), and
the ordering file lists its names in all of them.
Usage: resolve-hot-functions.py HOT_LIST PROFILED_NM OTHER_NM... > link/hot-functions.txt
(NM files: `nm -S` output.)"""
import re
import sys

HASH = re.compile(r"17h[0-9a-f]{16}E$")


def table(path):
    """Function symbols of one build: name -> size, and (base name, size) -> names."""
    sizes, by_base = {}, {}
    for line in open(path):
        fields = line.split()
        if len(fields) == 4 and fields[2] in "tTwW":
            size = int(fields[1], 16)
            sizes[fields[3]] = size
            by_base.setdefault((HASH.sub("", fields[3]), size), []).append(fields[3])
    return sizes, by_base


hot = [line.strip() for line in open(sys.argv[1]) if line.strip()]
profiled, _ = table(sys.argv[2])
others = [table(path)[1] for path in sys.argv[3:]]
written = set()
for symbol in hot:
    names = [symbol]
    key = (HASH.sub("", symbol), profiled.get(symbol))
    for by_base in others:
        names += by_base.get(key, [])[:1]
    for name in names:
        if name not in written:
            written.add(name)
            print(name)
