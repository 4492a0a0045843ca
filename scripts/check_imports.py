#!/usr/bin/env python3
"""Checks that every module a Swift file imports is declared as a direct dependency of its
target in Package.swift (a module reached only transitively builds today and breaks when the
graph changes), and that no file re-exports a module with `@_exported`. Reads the manifest
through `swift package dump-package`. Prints each problem; exits 1 if there is any."""
import json, pathlib, re, subprocess, sys

root = pathlib.Path(__file__).resolve().parent.parent
package = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=root, check=True,
                                    capture_output=True, text=True).stdout)
toolchain = {"Foundation", "FoundationEssentials", "FoundationXML", "Glibc", "Darwin", "Dispatch", "Synchronization",
             "Testing", "XCTest"}
ours = {t["name"] for t in package["targets"]}
problems = []
for target in package["targets"]:
    name = target["name"]
    deps = set()
    for d in target.get("dependencies", []):
        for kind in ("byName", "target", "product"):
            if kind in d:
                deps.add(d[kind][0])
    folder = root / (target.get("path") or ("Tests" if target["type"] == "test" else "Sources") + "/" + name)
    for f in sorted(folder.rglob("*.swift")):
        for line in f.read_text().splitlines():
            m = re.match(r"\s*(@_exported\s+|@testable\s+)?import\s+(?:(?:struct|enum|class|func|protocol)\s+)?(\w+)", line)
            if not m:
                continue
            module = m.group(2)
            if m.group(1) and "_exported" in m.group(1):
                problems.append(f"{f.relative_to(root)}: @_exported import {module}; import it where it is used")
            if module in toolchain or module == name or module in deps:
                continue
            problems.append(f"{f.relative_to(root)}: imports {module}, which target {name} does not declare in Package.swift")
for p in problems:
    print(p)
print(f"check_imports: {len(package['targets'])} targets, {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
