#!/usr/bin/env python3
"""Checks the layering of lib/ (docs/architecture.md, "Code layers").

Every folder of lib/ is a layer; a file may include headers of its own layer
and of the layers below it, always by their folder-qualified name
("quic/qs_conn.h"):

    base <- net <- steer <- quic <- http <- dataplane

and no module (a .c file with its .h) may reach itself again through the
modules it includes: no include circle, inside a layer either.

    check_layers.py LIB_DIR     prints every violation, exits 1 if any
    check_layers.py --self-test plants an upward include and a circle in a
                                scratch tree and checks both are reported
"""
import os
import re
import sys
import tempfile

LAYERS = ["base", "net", "steer", "quic", "http", "dataplane"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def modules(lib):
    """{module: [included header paths]}, module = 'layer/name'."""
    mods = {}
    for layer in sorted(os.listdir(lib)):
        folder = os.path.join(lib, layer)
        if not os.path.isdir(folder):
            continue
        for f in sorted(os.listdir(folder)):
            stem, ext = os.path.splitext(f)
            if ext not in (".c", ".h"):
                continue
            with open(os.path.join(folder, f), encoding="utf-8") as fh:
                incs = INCLUDE.findall(fh.read())
            mods.setdefault(f"{layer}/{stem}", []).extend(
                (f"{layer}/{f}", i) for i in incs)
    return mods


def check(lib):
    errors = []
    mods = modules(lib)
    edges = {m: set() for m in mods}
    for mod, incs in mods.items():
        layer = mod.split("/")[0]
        if layer not in LAYERS:
            errors.append(f"lib/{layer}/ is not a layer (known: {', '.join(LAYERS)})")
            continue
        for src, inc in incs:
            parts = inc.split("/")
            if len(parts) != 2 or parts[0] not in LAYERS:
                errors.append(f"lib/{src}: #include \"{inc}\" names no layer "
                              "(write it as \"layer/file.h\")")
                continue
            if LAYERS.index(parts[0]) > LAYERS.index(layer):
                errors.append(f"lib/{src}: #include \"{inc}\": {layer} is below "
                              f"{parts[0]} and may not include it")
            target = inc[:-2] if inc.endswith(".h") else inc
            if target not in mods:
                errors.append(f"lib/{src}: #include \"{inc}\": no such file")
            elif target != mod:
                edges[mod].add(target)
    errors += [f"include circle: {' -> '.join(c)}" for c in circles(edges)]
    return errors


def circles(edges):
    """One circle per strongly connected group of modules (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(path_through(sorted(group), edges))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def path_through(group, edges):
    """A circle inside group, from its first module back to it."""
    start, members = group[0], set(group)
    prev, todo = {start: None}, [start]
    while todo:
        v = todo.pop(0)
        for w in sorted(edges[v] & members):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                todo.append(w)
    return group


def self_test():
    def tree(files):
        d = tempfile.mkdtemp(prefix="check_layers_")
        for path, text in files.items():
            os.makedirs(os.path.join(d, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(d, path), "w") as fh:
                fh.write(text)
        return d

    good = tree({"base/a.h": "", "net/b.h": '#include "base/a.h"\n',
                 "net/b.c": '#include "net/b.h"\n'})
    upward = tree({"base/a.h": '#include "dataplane/z.h"\n', "dataplane/z.h": ""})
    circle = tree({"quic/x.h": "", "quic/x.c": '#include "quic/y.h"\n',
                   "quic/y.h": '#include "quic/x.h"\n'})
    bare = tree({"quic/x.c": '#include "x.h"\n', "quic/x.h": ""})
    ok = True
    for name, lib, want in (("clean tree", good, None),
                            ("upward include", upward, "may not include"),
                            ("circle", circle, "include circle: quic/x -> quic/y -> quic/x"),
                            ("unqualified include", bare, "names no layer")):
        errs = check(lib)
        hit = not errs if want is None else any(want in e for e in errs)
        print(f"self-test {name}: {'ok' if hit else 'MISSED'} {errs}")
        ok &= hit
    return ok


def main():
    if sys.argv[1:] == ["--self-test"]:
        return 0 if self_test() else 1
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    errors = check(sys.argv[1])
    for e in errors:
        print(e)
    n = sum(len(v) for v in modules(sys.argv[1]).values())
    print(f"check_layers: {len(modules(sys.argv[1]))} modules, {n} includes, "
          f"{len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
