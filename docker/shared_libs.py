"""Shared libraries that installed wheels need from the system (ELF DT_NEEDED not shipped inside a wheel).

Used twice: by the image build (``python shared_libs.py check REQUIREMENTS...``: every library the locked
distributions need is in the image's ``ldconfig -p`` cache, else the build fails naming the library and the
wheel) and by tests/test_docker_image.py, which compares the same needs with what the Dockerfile and its base
image provide, offline. Standard library only: the image has no binutils.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
from importlib import metadata
from pathlib import Path

#: Extension modules loaded only when optional hardware/software is present: their needs do not count.
OPTIONAL_MODULES = {
    # implicit imports its CUDA kernels only when a GPU and the CUDA runtime are there (implicit.gpu.HAS_CUDA);
    # the images are CPU-only.
    "implicit/gpu/_cuda.so",
}

_DT_NEEDED = 1
_SHT_DYNAMIC = 6
#: ELF class (32/64-bit) -> offset and format of e_shoff, offset of e_shentsize+e_shnum, section header, Elf_Dyn.
_LAYOUT = {1: (0x20, "I", 0x2E, "IIIIIIIIII", "iI"), 2: (0x28, "Q", 0x3A, "IIQQQQIIQQ", "qQ")}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", re.M)


def elf_needed(path: Path) -> list[str]:
    """DT_NEEDED entries of an ELF shared object ([] for anything that is not ELF)."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF":
        return []
    order = "<" if data[5] == 1 else ">"
    shoff_at, shoff_format, counts_at, section, dyn = _LAYOUT[data[4]]
    (shoff,) = struct.unpack_from(order + shoff_format, data, shoff_at)
    shentsize, shnum = struct.unpack_from(order + "HH", data, counts_at)
    section, dyn = order + section, order + dyn
    sections = [struct.unpack_from(section, data, shoff + i * shentsize) for i in range(shnum)]
    needed = []
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, _entsize in sections:
        if kind != _SHT_DYNAMIC:
            continue
        strtab = sections[link][4]
        for pos in range(offset, offset + size, struct.calcsize(dyn)):
            tag, value = struct.unpack_from(dyn, data, pos)
            if tag == 0:  # DT_NULL ends the table
                break
            if tag == _DT_NEEDED:
                start = strtab + value
                needed.append(data[start : data.index(b"\0", start)].decode())
    return needed


def locked_names(*requirement_files: str | Path) -> set[str]:
    """Distribution names pinned (``name==version``) in pip/uv requirement files."""
    return {m.group(1) for f in requirement_files for m in _PIN.finditer(Path(f).read_text(encoding="utf-8"))}


def system_needs(distributions: set[str]) -> dict[str, list[str]]:
    """Libraries the installed ``distributions`` need and none of them ships -> the files that need them.

    A library vendored by one of them (``numpy.libs/``, ``pyarrow/*.so.*`` ...) counts as shipped.
    """
    shared_objects = []
    for name in sorted(distributions):
        dist = metadata.distribution(name)  # PackageNotFoundError when the lock is not installed
        for file in dist.files or []:
            if ".so" in file.name:
                shared_objects.append((str(file), Path(dist.locate_file(file))))
    shipped = {path.name for _, path in shared_objects}
    needs: dict[str, list[str]] = {}
    for rel, path in shared_objects:
        if rel in OPTIONAL_MODULES:
            continue
        for soname in elf_needed(path):
            if soname not in shipped:
                needs.setdefault(soname, []).append(rel)
    return needs


def ldconfig_sonames() -> set[str]:
    """Libraries in this system's dynamic-linker cache."""
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    out = subprocess.run([ldconfig, "-p"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines()[1:] if line.strip()}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "check":
        print("usage: python shared_libs.py check REQUIREMENTS_FILE...", file=sys.stderr)
        return 2
    try:
        needs = system_needs(locked_names(*argv[1:]))
    except metadata.PackageNotFoundError as err:
        print(f"{err.name} is pinned in {' '.join(argv[1:])} but not installed", file=sys.stderr)
        return 1
    system = ldconfig_sonames()
    missing = {so: files for so, files in needs.items() if so not in system}
    for soname, files in sorted(missing.items()):
        print(f"missing system library {soname}, needed by {', '.join(sorted(files)[:3])}", file=sys.stderr)
    if missing:
        print("install the Debian package that ships it in docker/Dockerfile (apt-get install ...)", file=sys.stderr)
        return 1
    print(f"shared libraries: {len(needs)} system libraries needed by the locked wheels, all present")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
