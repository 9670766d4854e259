#!/usr/bin/env python3
"""tests/check-layers.py [ROOT] - checks the #include "..." graph of vswitch/ and cni/.

Fails (exit 1, one line per finding) on:
  - a file that includes a header of a layer it may not use.  The layers, lowest first:
    lib < dp < daemon; lib < ctl; lib < proxy; lib < cni; dp/bpf (the kernel fast path's
    program and the map layouts it shares) < dp.  A folder may include its own headers and
    those of the folders below it, and every one the generated headers (proto/, and the
    bpftool skeletons *.skel.h);
  - an include cycle between modules.  A module is foo.c with foo.h, foo-private.h and
    foo-provider.h (STYLE.md), so "a.c includes b.h and b.c includes a.h" is a cycle even
    though no header includes itself.

make check runs it first, after --self-test (which shows on a scratch tree that both
findings are made).  It reads files as text: an #include inside #if counts too.
"""
import os
import re
import sys
import tempfile

# What each folder may include besides itself.
ALLOWED = {
    'vswitch/lib': set(),
    'vswitch/dp/bpf': set(),
    'vswitch/dp': {'vswitch/lib', 'vswitch/dp/bpf'},
    'vswitch/daemon': {'vswitch/lib', 'vswitch/dp', 'vswitch/dp/bpf'},
    'vswitch/ctl': {'vswitch/lib'},
    'vswitch/proxy': {'vswitch/lib'},
    'cni': {'vswitch/lib'},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
MODULE_SUFFIXES = ('-private', '-provider')


def source_files(root):
    for folder in ALLOWED:
        path = os.path.join(root, folder)
        for name in sorted(os.listdir(path)):
            if name.endswith(('.c', '.h')):
                yield os.path.join(folder, name)


def resolve(root, includer, target):
    """The repository path of 'target' as the compiler finds it (-I. -Ivswitch), or None
    for a header outside the checked folders (generated, tests)."""
    for base in (os.path.dirname(includer), '', 'vswitch'):
        candidate = os.path.normpath(os.path.join(base, target))
        if os.path.isfile(os.path.join(root, candidate)):
            return candidate
    return None


def module(path):
    stem = os.path.splitext(path)[0]
    for suffix in MODULE_SUFFIXES:
        if stem.endswith(suffix):
            return stem[:-len(suffix)]
    return stem


def find_cycle(graph):
    """One cycle of 'graph' (module -> set of modules) as a list, or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = 'open'
        stack.append(node)
        for succ in sorted(graph.get(node, ())):
            if state.get(succ) == 'open':
                return stack[stack.index(succ):] + [succ]
            if succ not in state:
                cycle = visit(succ)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 'done'
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def check(root):
    """The findings for the tree at 'root', as lines."""
    problems = []
    graph = {}
    for path in source_files(root):
        folder = os.path.dirname(path)
        with open(os.path.join(root, path), encoding='utf-8') as f:
            text = f.read()
        for target in INCLUDE.findall(text):
            if target.startswith('proto/') or target.endswith('.skel.h'):
                continue
            resolved = resolve(root, path, target)
            if resolved is None:
                problems.append(f'{path}: includes "{target}", which is not in vswitch/ or cni/')
                continue
            to = os.path.dirname(resolved)
            if to != folder and to not in ALLOWED[folder]:
                problems.append(f'{path}: includes "{target}" from {to}/, a layer '
                                f'{folder}/ may not use')
            if module(resolved) != module(path):
                graph.setdefault(module(path), set()).add(module(resolved))
    # Report every cycle, one at a time: break each found at its last edge and look again.
    while True:
        cycle = find_cycle(graph)
        if not cycle:
            break
        problems.append('include cycle: ' + ' -> '.join(cycle))
        graph[cycle[-2]].discard(cycle[-1])
    return problems


def self_test():
    """A scratch tree with one layer violation and one cycle must give exactly those."""
    files = {
        'vswitch/lib/util.h': '#include "dp/dp.h"\n',
        'vswitch/dp/dp.h': '', 'vswitch/dp/dp.c': '#include "dp/pipeline.h"\n',
        'vswitch/dp/pipeline.h': '', 'vswitch/dp/pipeline.c': '#include "dp/dp-private.h"\n',
        'vswitch/dp/dp-private.h': '#include "lib/util.h"\n#include "proto/vswitch.pb-c.h"\n',
    }
    with tempfile.TemporaryDirectory() as root:
        for folder in ALLOWED:
            os.makedirs(os.path.join(root, folder), exist_ok=True)
        for path, text in files.items():
            with open(os.path.join(root, path), 'w', encoding='utf-8') as f:
                f.write(text)
        got = check(root)
    want = ['vswitch/lib/util.h: includes "dp/dp.h" from vswitch/dp/, a layer vswitch/lib/ '
            'may not use',
            'include cycle: vswitch/dp/dp -> vswitch/dp/pipeline -> vswitch/dp/dp',
            'include cycle: vswitch/dp/dp -> vswitch/lib/util -> vswitch/dp/dp']
    if sorted(got) != sorted(want):
        print('check-layers: self-test failed; got:\n  ' + '\n  '.join(got))
        return 1
    return 0


def main():
    if sys.argv[1:] == ['--self-test']:
        return self_test()
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..')
    problems = check(root)
    for p in problems:
        print(f'check-layers: {p}')
    if problems:
        return 1
    print('check-layers: includes follow the layers, no cycle')
    return 0


if __name__ == '__main__':
    sys.exit(main())
