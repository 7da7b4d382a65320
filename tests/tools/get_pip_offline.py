# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip script that ansible-test downloads to bootstrap its venvs.

The download host is not reachable from CI; package registries are. ansible-test looks for
a cached copy first, so tests/tools/sanity.sh installs this file there. It bootstraps pip
with ensurepip and then installs the requested packages from the registry.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess
import sys

DROPPED = ("--no-setuptools", "--no-wheel")


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    args = [arg for arg in sys.argv[1:] if arg not in DROPPED]
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
