#!/usr/bin/env python3
"""Starts Azurite's blob service (npm `azurite`, Microsoft's Azure Storage emulator) for the store
tests on 127.0.0.1 and a free port, in memory, without telemetry (it would try to reach the
internet) and without the API version check, and prints "LISTENING <port>" once it accepts
connections (the line tests/support/testing.h waits for). Azurite's development account is
devstoreaccount1 with the published well-known key; its URLs are path style:
http://127.0.0.1:<port>/devstoreaccount1/<container>/<blob>.

    azurite_main.py --node-modules DIR [--port N] [--cert C --key K --oauth basic]

It runs Azurite as its child (same process group) and ends with it.
"""

import argparse
import os
import socket
import subprocess
import sys


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--node-modules", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert", default="")
    parser.add_argument("--key", default="")
    parser.add_argument("--oauth", default="")
    args = parser.parse_args()
    port = args.port or free_port()
    main_js = os.path.join(args.node_modules, "azurite", "dist", "src", "blob", "main.js")
    command = ["node", main_js, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
               "--extentMemoryLimit", "512", "--disableTelemetry", "--skipApiVersionCheck", "--silent"]
    if args.cert:
        command += ["--cert", args.cert, "--key", args.key]
    if args.oauth:
        command += ["--oauth", args.oauth]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in child.stdout:
        sys.stderr.write(line)
        if "successfully listen" in line:
            print("LISTENING %d" % port, flush=True)
            break
    else:
        return child.wait() or 1
    for line in child.stdout:
        sys.stderr.write(line)
    return child.wait()


if __name__ == "__main__":
    sys.exit(main())
