"""A naive line pass-through proxy (reference point for the benchmark, not part of thoth).

Usage: python3 naive_passthrough.py <server command...>
Forwards stdin lines to the server and server lines to stdout, one thread per direction, parsing each line
as JSON on the way (as the simplest governing proxy would) and doing nothing else.
"""
import json
import subprocess
import sys
import threading


def pump(src, dst):
    for line in iter(src.readline, b""):
        json.loads(line)
        dst.write(line)
        dst.flush()
    try:
        dst.close()
    except OSError:
        pass


def main():
    server = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    up = threading.Thread(target=pump, args=(sys.stdin.buffer, server.stdin), daemon=True)
    down = threading.Thread(target=pump, args=(server.stdout, sys.stdout.buffer), daemon=True)
    up.start()
    down.start()
    down.join()
    sys.exit(server.wait())


if __name__ == "__main__":
    main()
