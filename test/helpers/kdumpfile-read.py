#!/usr/bin/python3
# Read a dump with Debian's python3-libkdumpfile (a reader cgmon does not control):
# prints JSON with the file format, the VMCOREINFO lines and the SHA-256 of each
# requested physical range. Usage: kdumpfile-read.py FILE [START:LENGTH ...] (hex).
import hashlib
import json
import sys

import kdumpfile

CHUNK = 1 << 20


def main():
    k = kdumpfile.kdumpfile(sys.argv[1])
    out = {'format': k.attr['file.format'], 'vmcoreinfo': None, 'ranges': {}}
    try:
        out['vmcoreinfo'] = dict(k.attr['linux.vmcoreinfo.lines'])
    except KeyError:
        pass
    for spec in sys.argv[2:]:
        start, length = (int(x, 16) for x in spec.split(':'))
        h = hashlib.sha256()
        off = 0
        while off < length:
            n = min(CHUNK, length - off)
            h.update(k.read(kdumpfile.KDUMP_MACHPHYSADDR, start + off, n))
            off += n
        out['ranges'][spec] = h.hexdigest()
    print(json.dumps(out))


main()
