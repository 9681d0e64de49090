"""Put the web UI's browser files (src/basin/web/assets.json) into
src/basin/web/static/vendor/, from the npm registry, checked against the pinned
integrity. Run by `make install` and by the wheel build (setup.py); idempotent and
offline once the tarballs are in ~/.cache/basin/npm.

    python scripts/vendor_web_assets.py [--check]

``--check`` only reports what is missing (exit 1 if anything is).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "src" / "basin" / "web" / "assets.json"
VENDOR = ROOT / "src" / "basin" / "web" / "static" / "vendor"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "basin" / "npm"


def _registry() -> str:
    return (
        os.environ.get("NPM_CONFIG_REGISTRY")
        or os.environ.get("npm_config_registry")
        or "https://registry.npmjs.org"
    ).rstrip("/")


def _tarball_url(name: str, version: str) -> str:
    return f"{_registry()}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"


def _verified(data: bytes, integrity: str, what: str) -> bytes:
    algorithm, _, expected = integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if digest != expected:
        raise SystemExit(f"error: {what} does not match its pinned integrity {integrity}")
    return data


def _tarball(name: str, version: str, integrity: str) -> bytes:
    cached = CACHE / f"{name.replace('/', '+')}-{version}.tgz"
    if cached.exists():
        try:
            return _verified(cached.read_bytes(), integrity, str(cached))
        except SystemExit:
            cached.unlink()
    url = _tarball_url(name, version)
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            data = response.read()
    except OSError as exc:
        raise SystemExit(
            f"error: cannot download {name}@{version} from {url}: {exc}\n"
            "hint: the web UI's browser files come from the npm registry when Basin is built; "
            "set NPM_CONFIG_REGISTRY to a mirror, or copy the tarball into " + str(CACHE)
        ) from None
    _verified(data, integrity, url)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(cached)
    return data


def missing() -> list[str]:
    packages = json.loads(LOCK.read_text())["packages"]
    return [
        dest
        for spec in packages.values()
        for dest in spec["files"].values()
        if not (VENDOR / dest).is_file()
    ]


def vendor() -> list[str]:
    """Extract every pinned file that is not there yet; return what was written."""
    written = []
    for name, spec in json.loads(LOCK.read_text())["packages"].items():
        todo = {src: dest for src, dest in spec["files"].items() if not (VENDOR / dest).is_file()}
        if not todo:
            continue
        data = _tarball(name, spec["version"], spec["integrity"])
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for src, dest in todo.items():
                member = tar.extractfile(src)
                if member is None:
                    raise SystemExit(f"error: {name}@{spec['version']} has no file {src}")
                out = VENDOR / dest
                out.parent.mkdir(parents=True, exist_ok=True)
                tmp = out.with_name(out.name + ".part")
                tmp.write_bytes(member.read())
                tmp.replace(out)
                written.append(dest)
    return written


def main(argv: list[str]) -> int:
    if "--check" in argv:
        gone = missing()
        for dest in gone:
            print(f"missing: {VENDOR / dest}")
        return 1 if gone else 0
    for dest in vendor():
        print(f"vendored {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
