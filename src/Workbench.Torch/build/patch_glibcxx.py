#!/usr/bin/env python3
"""Makes TorchSharp's libLibTorchSharp.so load against an older libstdc++ (Debian 12 stops at GLIBCXX_3.4.30).

The 0.107.0 build asks for GLIBCXX_3.4.32 for one symbol, std::ios_base_library_init(): GCC 13's <iostream> emits a
reference to that empty function so the stream objects are initialised; nothing calls it (the file has no relocation
against it). This script edits a copy in a build output, never the NuGet cache:
  1. the symbol's version index (.gnu.version) becomes 1: an unversioned reference;
  2. the symbol's binding becomes weak: unresolved, it is 0 and nothing needs to define it;
  3. the GLIBCXX_3.4.32 requirement (.gnu.version_r) is marked VER_FLG_WEAK: a missing version is not an error.
The file is rewritten beside and renamed over (a hard link into the cache is never written through).
Usage: patch_glibcxx.py FILE...   Idempotent; prints one line per file changed. Standard library only.
"""
import os, struct, sys

SYMBOL = b"_ZSt21ios_base_library_initv"
VERSION = b"GLIBCXX_3.4.32"
SHT_DYNSYM, SHT_GNU_verneed, SHT_GNU_versym = 11, 0x6ffffffe, 0x6fffffff
STB_WEAK, VER_FLG_WEAK = 2, 0x2


def cstr(data, offset):
    return data[offset:data.index(b"\0", offset)]


def patch(data):
    """Returns the patched bytes, or None when there is nothing to change."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    def find(kind):
        return next((s for s in sections if s[1] == kind), None)
    dynsym, versym, verneed = find(SHT_DYNSYM), find(SHT_GNU_versym), find(SHT_GNU_verneed)
    if dynsym is None or versym is None or verneed is None:
        return None
    strtab = sections[dynsym[6]][4]                          # sh_link of .dynsym → .dynstr offset
    out = bytearray(data)
    changed = False
    # The version requirement: Elf64_Verneed {vn_version, vn_cnt, vn_file, vn_aux, vn_next}, Elf64_Vernaux {hash, flags, other, name, next}.
    wanted_index = None
    need = verneed[4]
    while True:
        _, cnt, _, aux, nxt = struct.unpack_from("<HHIII", data, need)
        a = need + aux
        for _ in range(cnt):
            _, flags, other, name, anext = struct.unpack_from("<IHHII", data, a)
            if cstr(data, strtab + name) == VERSION:
                wanted_index = other
                if not flags & VER_FLG_WEAK:
                    struct.pack_into("<H", out, a + 4, flags | VER_FLG_WEAK)
                    changed = True
            a += anext
        if nxt == 0:
            break
        need += nxt
    # The symbol: Elf64_Sym {st_name, st_info, st_other, st_shndx, st_value, st_size}; .gnu.version has one u16 per symbol.
    for i in range(dynsym[5] // 24):
        sym = dynsym[4] + i * 24
        name, info = struct.unpack_from("<IB", data, sym)
        if cstr(data, strtab + name) != SYMBOL:
            continue
        index_at = versym[4] + 2 * i
        index, = struct.unpack_from("<H", data, index_at)
        if wanted_index is not None and index & 0x7FFF == wanted_index:
            struct.pack_into("<H", out, index_at, 1)
            changed = True
        if info >> 4 != STB_WEAK:
            out[sym + 4] = (STB_WEAK << 4) | (info & 0xF)
            changed = True
    return bytes(out) if changed else None


def main(paths):
    for path in paths:
        if not os.path.exists(path):
            continue
        with open(path, "rb") as f:
            data = f.read()
        try:
            patched = patch(data)
        except (ValueError, struct.error, IndexError) as e:
            sys.exit(f"{path}: cannot patch ({e})")
        if patched is None:
            continue
        temp = path + ".patching"
        with open(temp, "wb") as f:
            f.write(patched)
        os.chmod(temp, os.stat(path).st_mode)
        os.replace(temp, path)
        print(f"{path}: GLIBCXX_3.4.32 requirement of {SYMBOL.decode()} made weak")


if __name__ == "__main__":
    main(sys.argv[1:])
