"""Build the stack with `sam build` and print each function's unzipped size with its layers.

Lambda refuses a function whose code plus layers exceed 250 MB unzipped. Usage (from the root):
    python scripts/lambda_sizes.py [--sam PATH] [--build-dir DIR] [--no-build]
Exits 1 when a function is over the limit. `sam` is aws-sam-cli (installed by .ci/run in .venv-sam).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LIMIT_MB = 250.0


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def find_sam(given: str | None) -> str:
    for candidate in (given, ROOT / ".venv-sam" / "bin" / "sam", shutil.which("sam")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    raise SystemExit("aws-sam-cli not found: python3.11 -m venv .venv-sam && .venv-sam/bin/pip install aws-sam-cli")


def _refs(value) -> list[str]:
    # In the built template layers are {"Ref": LogicalId} (or !Ref, loaded below as the same).
    return [v["Ref"] for v in value or [] if isinstance(v, dict) and "Ref" in v]


def sizes(build_dir: Path) -> list[tuple[str, float, dict[str, float]]]:
    yaml.SafeLoader.add_multi_constructor("!", lambda loader, tag, node: {
        tag: loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None})
    template = yaml.safe_load((build_dir / "template.yaml").read_text())
    global_layers = _refs(template.get("Globals", {}).get("Function", {}).get("Layers"))
    rows = []
    for name, res in template["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        code = dir_mb(build_dir / name)
        layers = {layer: dir_mb(build_dir / layer)
                  for layer in global_layers + _refs(res["Properties"].get("Layers"))}
        rows.append((name, code, layers))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sam", help="path to the sam executable")
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    parser.add_argument("--no-build", action="store_true", help="measure an existing build")
    args = parser.parse_args()
    if not args.no_build:
        start = time.monotonic()
        env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
        subprocess.run([find_sam(args.sam), "build", "--build-dir", str(args.build_dir)],
                       cwd=ROOT, check=True, env=env, stdout=sys.stderr)
        print(f"sam build: {time.monotonic() - start:.0f} s", file=sys.stderr)
    over = False
    print(f"{'function':<24}{'code MB':>9}{'layers MB':>11}{'total MB':>10}  layers")
    for name, code, layers in sizes(args.build_dir):
        total = code + sum(layers.values())
        over |= total >= LIMIT_MB
        detail = ", ".join(f"{k} {v:.1f}" for k, v in layers.items())
        print(f"{name:<24}{code:>9.2f}{sum(layers.values()):>11.1f}{total:>10.1f}  {detail}"
              + ("  OVER THE 250 MB LIMIT" if total >= LIMIT_MB else ""))
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
