#!/usr/bin/env python3
"""The module import map of src/ (issue 16 "The house"): rooms (top-level modules), floors, arrows between
rooms, arrows that run back up (a lower floor importing a higher one) and circles (file-level import cycles).

Floors are declared below (FLOORS): 0 is the bottom (leaf utilities), higher floors compose lower ones.
An arrow runs back up when its source's floor is lower than its target's. Test files (tests.rs, props.rs,
tests/) are left out: tests may import anything. Usage: python3 .ci/import-map.py [--arrows] [--json] [--check]

--check exits 1 when an arrow runs back up or a circle exists that is not in ALLOWED_UP / ALLOWED_CIRCLES below
(each entry with its one-line reason, repeated in ARCHITECTURE.md "Known debts"), and when an allowed entry no
longer occurs (so the lists only shrink). tests/house.rs runs it.
"""
import json, os, re, sys

SRC = os.environ.get("IMPORT_MAP_SRC") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

# The intended layering (ARCHITECTURE.md): bottom floors first.
FLOORS = [
    ["exit", "time", "backoff", "paths", "hint", "minisig", "mode"],
    ["platform", "home", "identity", "logging", "output"],
    ["settings", "net", "runtime_user"],
    ["audit", "policy", "govapi", "lock", "auth", "update", "wrap"],
    ["fleet", "proxy", "remote", "secrets", "clients"],
    ["commands", "cli", "error"],  # cli: the commands' clap types
    ["lib", "main"],
]
FLOOR = {room: i for i, rooms in enumerate(FLOORS) for room in rooms}

# Arrows that still run back up, each with why it is still there (ARCHITECTURE.md "Known debts").
ALLOWED_UP = {}
# File-level circles that still exist (sorted file lists), each with why.
ALLOWED_CIRCLES = {
    ("audit/events.rs", "audit/spool.rs"): "the sink spools and replays batches (events -> spool); the spool stores events::EventBatch",
    ("wrap/edit.rs", "wrap/remote.rs"): "edit hands url entries to remote::apply_one, which uses edit's plan and helpers",
}


def module_files():
    mods = {}
    for root, _, files in os.walk(SRC):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(root, f), SRC).replace(os.sep, "/")
            parts = rel[:-3].split("/")
            if parts[-1] == "mod":
                parts = parts[:-1]
            if parts in (["lib"], ["main"]):
                mods[(parts[0],)] = rel
                continue
            mods[tuple(parts)] = rel
    return mods


def is_test(rel):
    base = os.path.basename(rel)
    return base in ("tests.rs", "props.rs") or "/tests/" in rel


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def expand(prefix, body):
    """Expand a `use` tree body like `a::{b, c::d}` into paths."""
    out, depth, cur = [], 0, ""
    items = []
    for ch in body:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    items.append(cur)
    for item in items:
        item = item.strip()
        if not item:
            continue
        m = re.match(r"^([\w:]*?)(::)?\{(.*)\}$", item, flags=re.S)
        if m:
            head = [p for p in m.group(1).split("::") if p]
            out += expand(prefix + head, m.group(3))
        else:
            item = re.split(r"\s+as\s+", item)[0]
            out.append(prefix + [p for p in item.split("::") if p and p != "self"])
    return out


def imports(rel, modpath, text):
    text = strip_comments(text)
    paths = []
    for m in re.finditer(r"\buse\s+((?:crate|super|self)\s*::[^;]*);", text):
        tree = re.sub(r"\s+", "", m.group(1)) if "{" in m.group(1) else m.group(1).strip()
        head, _, rest = tree.partition("::")
        paths += [[head] + p for p in (expand([], rest) if "{" in rest else [[x for x in rest.split("::") if x]])]
    for m in re.finditer(r"(?<![\w:])(crate|super)((?:::\w+)+)", text):
        paths.append([m.group(1)] + [p for p in m.group(2).split("::") if p])
    resolved = []
    for p in paths:
        if p[0] == "crate":
            # the root's re-exports (lib.rs: `pub use error::Error; pub use exit::Exit;`)
            root = {"Error": ["error"], "Exit": ["exit"]}
            resolved.append(root.get(p[1], p[1:2]) + p[2:] if len(p) > 1 else [])
            continue
        base = list(modpath)  # `self` of src/a/b.rs and of src/a/b/mod.rs is a::b
        while p and p[0] in ("super", "self"):
            if p[0] == "super":
                base = base[:-1]
            p = p[1:]
        resolved.append(base + p)
    return resolved


def main():
    mods = module_files()
    edges = set()  # (from_file, to_file)
    for mp, rel in mods.items():
        if is_test(rel):
            continue
        with open(os.path.join(SRC, rel), encoding="utf-8") as fh:
            text = fh.read()
        for path in imports(rel, mp if mp not in (("lib",), ("main",)) else (), text):
            for n in range(len(path), 0, -1):
                target = mods.get(tuple(path[:n]))
                if target:
                    break
            else:
                continue
            if target != rel and not is_test(target):
                edges.add((rel, target))

    def room(rel):
        return rel[:-3].split("/")[0]

    room_edges = sorted({(room(a), room(b)) for a, b in edges if room(a) != room(b)})
    rooms = sorted({room(r) for r in mods.values() if not is_test(r)})
    unknown = [r for r in rooms if r not in FLOOR]
    up = [(a, b) for a, b in room_edges if FLOOR.get(a, -1) < FLOOR.get(b, -1)]

    # circles: strongly connected components of the file graph (Tarjan, iterative)
    graph = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(graph.get(start, [])))]
        index[start] = low[start] = counter[0]; counter[0] += 1; stack.append(start); on.add(start)
        while work:
            v, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]; counter[0] += 1; stack.append(nxt); on.add(nxt)
                    work.append((nxt, iter(graph.get(nxt, []))))
                elif nxt in on:
                    low[v] = min(low[v], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop(); on.discard(w); comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        sccs.append(sorted(comp))
    floors_used = sorted({FLOOR[r] for r in rooms if r in FLOOR})
    report = {
        "rooms": len(rooms),
        "floors": len(floors_used),
        "file_arrows": len(edges),
        "room_arrows": len(room_edges),
        "room_arrows_up": len(up),
        "circles": [len(c) for c in sorted(sccs, key=len, reverse=True)],
        "rooms_without_floor": unknown,
        "up": [f"{a} -> {b}" for a, b in up],
        "circle_files": sorted(sccs, key=len, reverse=True),
    }
    if "--check" in sys.argv:
        # The allowed debts are this tree's; another tree (IMPORT_MAP_SRC, the script's own test) has none.
        allowed_up = {} if os.environ.get("IMPORT_MAP_SRC") else ALLOWED_UP
        allowed_circles = {} if os.environ.get("IMPORT_MAP_SRC") else ALLOWED_CIRCLES
        problems = []
        up_now = {f"{a} -> {b}" for a, b in up}
        circles_now = {tuple(c) for c in sccs}
        problems += [f"arrow runs back up: {u}" for u in sorted(up_now - set(allowed_up))]
        problems += [f"circle: {' '.join(c)}" for c in sorted(circles_now - set(allowed_circles))]
        problems += [f"allowed but gone (remove it from ALLOWED_UP): {u}" for u in sorted(set(allowed_up) - up_now)]
        problems += [f"allowed but gone (remove it from ALLOWED_CIRCLES): {' '.join(c)}"
                     for c in sorted(set(allowed_circles) - circles_now)]
        problems += [f"room without a floor: {r}" for r in unknown]
        for p in problems:
            print(p)
        print(f"import map: {len(up_now)} arrows up, {len(circles_now)} circles; "
              f"{'ok' if not problems else f'{len(problems)} problems'}")
        sys.exit(1 if problems else 0)
    if "--json" in sys.argv:
        print(json.dumps(report, indent=2))
        return
    print(f"rooms {report['rooms']}, floors {report['floors']}, arrows {report['room_arrows']} between rooms "
          f"({report['file_arrows']} between files), {report['room_arrows_up']} run back up, "
          f"circles {report['circles']}")
    if unknown:
        print("rooms without a floor:", ", ".join(unknown))
    if "--arrows" in sys.argv:
        for a, b in up:
            print(f"  up: {a} (floor {FLOOR.get(a)}) -> {b} (floor {FLOOR.get(b)})")
        for c in sorted(sccs, key=len, reverse=True):
            print(f"  circle of {len(c)}: {' '.join(c[:8])}{' ...' if len(c) > 8 else ''}")


if __name__ == "__main__":
    main()
