#!/usr/bin/env python3
"""Fills directories for the test hub servers with stand-in files for every ngc:// and hf://
source a manifest names, so that a manifest from examples/manifests/ can be downloaded against
ngc_server.py and hf_server.py (the README's walk-through).

  python3 tests/servers/make_hub_tree.py examples/manifests/llama-3.1-8b-instruct.yaml /tmp/hub
  -> /tmp/hub/ngc/<org>/<team>/<model>/<version>/<file>, /tmp/hub/hf/<org>/<name>/<file>

Stand-ins are deterministic bytes (a few KiB; --size-weights for *.safetensors, *.engine, *.bin),
JSON files get "{}". A checksums.blake3 is written empty: the stand-ins have no published sums.
The URIs are read from the manifest text (`uri: '...'`), which is all this helper needs.
"""

import argparse
import hashlib
import os
import re
import sys
from urllib.parse import unquote

URI = re.compile(r"""uri:\s*['"]?((?:ngc|hf)://[^'"\s}]+)""")


def stand_in(path, size):
    if path.endswith("checksums.blake3"):
        return b""
    if path.endswith(".json"):
        return b"{}\n"
    out = bytearray()
    seed = hashlib.sha256(path.encode()).digest()
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return bytes(out[:size])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest")
    parser.add_argument("root")
    parser.add_argument("--size", type=int, default=4096, help="bytes of an ordinary stand-in file")
    parser.add_argument("--size-weights", type=int, default=3 << 20, help="bytes of weights and engines")
    args = parser.parse_args()
    text = open(args.manifest).read()
    written = 0
    for uri in sorted(set(URI.findall(text))):
        scheme, rest = uri.split("://", 1)
        rest, _, query = rest.partition("?")
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        name, _, revision = rest.partition(":")
        file_path = unquote(params.get("file", ""))
        if not file_path or ".." in file_path.split("/") or file_path.startswith("/"):
            print("skipping %s (no file, or an unsafe one)" % uri, file=sys.stderr)
            continue
        if scheme == "ngc":
            parts = name.split("/")
            if len(parts) == 2:
                parts.insert(1, "_")
            target = os.path.join(args.root, "ngc", *parts, unquote(revision), file_path)
        else:
            target = os.path.join(args.root, "hf", name, file_path)
        heavy = file_path.endswith((".safetensors", ".engine", ".bin"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(stand_in(file_path, args.size_weights if heavy else args.size))
        written += 1
    print("%d stand-in files under %s" % (written, args.root))
    return 0


if __name__ == "__main__":
    sys.exit(main())
