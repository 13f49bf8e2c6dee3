#!/usr/bin/env python3
# What Flathub's reviewers check in a manifest, checked here offline, and
# (given a build directory) that `meson install` puts exactly the files the
# manifest's app needs into its prefix: nothing missing, nothing extra.
# Usage: check-flatpak-manifest.py MANIFEST [BUILD_DIR]
import json
import os
import re
import subprocess
import sys
import tempfile

SUPPORTED_RUNTIMES = {"49", "50"}     # GNOME; older ones are end-of-life
FINISH_ARGS = {"--share=ipc", "--socket=fallback-x11", "--socket=wayland", "--device=dri", "--share=network"}

problems = []


def check(ok, message):
    if not ok:
        problems.append(message)


def check_manifest(path):
    with open(path) as f:
        manifest = json.load(f)
    app_id = manifest.get("id", "")
    parts = app_id.split(".")

    check(os.path.basename(path) == app_id + ".json", f"the file is named {os.path.basename(path)}, not {app_id}.json")
    check(3 <= len(parts) <= 5 and all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", p) for p in parts),
          f"the id {app_id!r} needs 3 to 5 components of letters, digits, _ and -")
    check(manifest.get("runtime") == "org.gnome.Platform", "the runtime is not org.gnome.Platform")
    check(manifest.get("sdk") == "org.gnome.Sdk", "the SDK is not org.gnome.Sdk")
    check(str(manifest.get("runtime-version")) in SUPPORTED_RUNTIMES,
          f"runtime-version {manifest.get('runtime-version')!r} is not supported (one of {sorted(SUPPORTED_RUNTIMES)})")
    check(manifest.get("command") == "synaptic-mesh", "the command is not synaptic-mesh")

    args = manifest.get("finish-args", [])
    check(len(args) == len(set(args)), "finish-args repeat an entry")
    check(set(args) == FINISH_ARGS,
          f"finish-args must be exactly {sorted(FINISH_ARGS)}; extra {sorted(set(args) - FINISH_ARGS)}, "
          f"missing {sorted(FINISH_ARGS - set(args))}")
    check("--socket=fallback-x11" not in args or "--socket=wayland" in args, "fallback-x11 without wayland")
    check(not any("dconf" in a for a in args), "dconf access in finish-args")

    cleanup = set(manifest.get("cleanup", []))
    for pattern in ("/include", "/lib/pkgconfig", "/share/man", "*.la", "*.a"):
        check(pattern in cleanup, f"cleanup lacks {pattern}")

    modules = manifest.get("modules", [])
    names = [m.get("name") for m in modules if isinstance(m, dict)]
    check(names and names[-1] == "synaptic-mesh", "the app is not the last module")
    for module in modules:
        if not isinstance(module, dict):
            problems.append("a module is not inline (keep the manifest one file)")
            continue
        for source in module.get("sources", []):
            kind = source.get("type")
            if kind == "archive":
                check(str(source.get("url", "")).startswith("https://"), f"{module['name']}: archive URL not https")
                check(isinstance(source.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", source["sha256"]),
                      f"{module['name']}: archive without a sha256")
            elif kind == "dir":
                check(module["name"] == "synaptic-mesh", f"{module['name']}: only the app builds from the tree")
            else:
                problems.append(f"{module['name']}: source type {kind!r} (archives with sha256, or the app's dir)")
        opts = " ".join(module.get("config-opts", [])) + json.dumps(module.get("build-options", {}))
        check("-march=native" not in opts and "-Dnative=true" not in opts,
              f"{module['name']}: a release build must stay portable (no -march=native)")

    zmq = next((m for m in modules if m.get("name") == "libzmq"), None)
    check(zmq is not None, "no libzmq module (the runtime lacks it)")
    if zmq:
        opts = zmq.get("config-opts", [])
        for opt in ("--with-libsodium", "--enable-curve", "--without-docs"):
            check(opt in opts, f"libzmq lacks {opt}")
    for needed in ("libsodium", "czmq", "xxhash"):
        check(needed in names, f"no {needed} module (the runtime lacks it)")
    if {"libsodium", "libzmq", "czmq"} <= set(names):
        check(names.index("libsodium") < names.index("libzmq") < names.index("czmq"),
              "modules out of dependency order (libsodium, libzmq, czmq)")
    return app_id


def expected_files(app_id, source_root):
    files = {
        "bin/synaptic-mesh",
        "bin/synmesh",
        f"share/applications/{app_id}.desktop",
        f"share/metainfo/{app_id}.metainfo.xml",
        f"share/icons/hicolor/scalable/apps/{app_id}.svg",
        f"share/icons/hicolor/symbolic/apps/{app_id}-symbolic.svg",
        f"share/glib-2.0/schemas/{app_id}.gschema.xml",
    }
    with open(os.path.join(source_root, "po", "LINGUAS")) as f:
        for line in f:
            lang = line.split("#")[0].strip()
            if lang:
                files.add(f"share/locale/{lang}/LC_MESSAGES/synaptic-mesh.mo")
    return files


def check_install(app_id, build_dir, source_root):
    with tempfile.TemporaryDirectory(prefix="synmesh-stage-") as stage:
        run = subprocess.run(["meson", "install", "-C", build_dir, "--destdir", stage, "--no-rebuild", "--quiet"],
                             capture_output=True, text=True)
        if run.returncode != 0:
            problems.append("meson install failed: " + run.stderr.strip())
            return
        prefix = subprocess.run(["meson", "introspect", build_dir, "--buildoptions"],
                                capture_output=True, text=True, check=True)
        prefix = next(o["value"] for o in json.loads(prefix.stdout) if o["name"] == "prefix")
        root = os.path.join(stage, prefix.lstrip("/"))
        installed = set()
        for where, _, names in os.walk(stage):
            for name in names:
                full = os.path.join(where, name)
                installed.add(os.path.relpath(full, root) if full.startswith(root + os.sep) else "/" + os.path.relpath(full, stage))
        want = expected_files(app_id, source_root)
        for path in sorted(want - installed):
            problems.append(f"meson install does not install {path}")
        for path in sorted(installed - want):
            problems.append(f"meson install puts {path} where the manifest does not expect it")


def main():
    manifest = sys.argv[1]
    app_id = check_manifest(manifest)
    if len(sys.argv) > 2:
        source_root = os.path.dirname(os.path.dirname(os.path.abspath(manifest)))
        check_install(app_id, sys.argv[2], source_root)
    for problem in problems:
        print(f"{manifest}: {problem}", file=sys.stderr)
    if not problems:
        print(f"{manifest}: follows the review rules" + ("; the install matches" if len(sys.argv) > 2 else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
