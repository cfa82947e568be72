"""What a file given as a table is when it is not a CSV file, told from its bytes.

``chainrule train data.xlsx`` should say "an Excel workbook: save it as CSV",
not "binary data". The kind is read from the first bytes (the formats' magic
numbers), which costs one block of the file whatever its size. Compressed
files are named, not read: a gzip file may unpack to a thousand times its
size, which cannot be known before unpacking it all, and pandas would hold
the whole of it in memory.

A file that is not UTF-8 is named with the line and byte of its first
invalid byte, found by decoding the file block by block (only when pandas
has already failed on it, and only up to that byte).
"""
from __future__ import annotations

import codecs
import os

#: Magic numbers of compressed files: (first bytes, what it is, the command that unpacks it).
_COMPRESSED = ((b"\x1f\x8b", "a gzip-compressed file", "gunzip -k"),
               (b"BZh", "a bzip2-compressed file", "bunzip2 -k"),
               (b"\xfd7zXZ\x00", "an xz-compressed file", "unxz -k"),
               (b"\x28\xb5\x2f\xfd", "a zstd-compressed file", "unzstd"))
#: An OLE2 compound file: Excel 97-2003 (.xls), and Word and PowerPoint files of that age.
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BLOCK = 1 << 20


def binary_kind(head, where):
    """``(what it is, what to do)`` for a file whose first bytes ``head`` are not those of
    a text table, or None when they may be text."""
    name = os.path.basename(where)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        if b"xl/" in head or name.lower().endswith((".xlsx", ".xlsm")):
            return ("an Excel workbook", "save the sheet as CSV (in Excel: File > Save As > "
                    "CSV UTF-8) and give that file")
        return "a zip archive", "extract the table from it and give the .csv file"
    if head.startswith(_OLE2):
        return ("an Excel 97-2003 workbook (or another old Office file)",
                "save the sheet as CSV (in Excel: File > Save As > CSV UTF-8) and give that file")
    for magic, what, command in _COMPRESSED:
        if head.startswith(magic):
            return (what, f"decompress it first ({command} {name}) and give the file it unpacks "
                    "to (chainrule reads no compressed tables: their unpacked size cannot be "
                    "checked before reading them)")
    if head.startswith(b"PAR1"):
        return "a Parquet file", "give it a name that ends in .parquet"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return ("UTF-16 text (Excel's \"Unicode Text\")",
                "save it as CSV UTF-8 (in Excel: File > Save As > CSV UTF-8)")
    # a safetensors file: its JSON header's length (8 bytes, little-endian), then "{"
    if len(head) >= 9 and head[8:9] == b"{" \
            and int.from_bytes(head[:8], "little") <= os.path.getsize(where) - 8:
        return "a model file (safetensors)", "give it as the model, and a CSV file as the data"
    if b"\0" in head:  # text files never hold NUL bytes; safetensors, zip and Parquet files do
        return "binary data", "expected a CSV file with a header row"
    return None


def not_utf8(where):
    """ValueError naming the first byte of ``where`` that is not UTF-8: its line, its offset,
    the text before it on that line; None when every byte decodes (the error was elsewhere)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    done, lines, tail = 0, 1, b""
    with open(where, "rb") as f:
        while True:
            block = f.read(_BLOCK)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:
                # error.object is the decoder's held bytes (a character cut by the previous
                # block, at most 3) and this block; seen: the previous block's end and this one
                held = len(error.object) - len(block)
                seen, at = tail + block, len(tail) - held + error.start
                lines += seen[len(tail):max(at, len(tail))].count(b"\n")
                before = seen[:at].rsplit(b"\n", 1)[-1][-24:].decode("utf-8", errors="replace")
                raise ValueError(
                    f"{where} is not UTF-8 text: line {lines} holds the byte 0x{seen[at]:02x} "
                    f"(at offset {done - len(tail) + at} in the file) after {before!r}; it is "
                    "probably Windows-1252 or Latin-1 (Excel's \"CSV\" on Windows): save it as "
                    "CSV UTF-8, or convert it: iconv -f WINDOWS-1252 -t UTF-8 "
                    f"{os.path.basename(where)} > {_utf8_name(where)}") from None
            if not block:
                return None
            lines += block.count(b"\n")
            tail = block[-64:]
            done += len(block)


def _utf8_name(where):
    stem, ext = os.path.splitext(os.path.basename(where))
    return f"{stem}-utf8{ext or '.csv'}"
