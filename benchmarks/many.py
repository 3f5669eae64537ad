"""N tiny wheels: what each requirement costs beyond the bytes (the per-requirement scenario)."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def tiny_wheels(n: int, folder: Path) -> list[Path]:
    """``tiny0000 .. tiny{n-1}`` 1.0, each one small module; made once per ``n``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        name = f"tiny{i:04d}"
        path = folder / f"{name}-1.0-py3-none-any.whl"
        paths.append(path)
        if path.exists():
            continue
        info = f"{name}-1.0.dist-info"
        files = {
            f"{name}/__init__.py": f'"""Tiny package {i}."""\n\nVALUE = {i}\n',
            f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
            f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n",
        }
        record = []
        for arc, text in files.items():
            data = text.encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{arc},sha256={digest.decode()},{len(data)}")
        record.append(f"{info}/RECORD,,")
        files[f"{info}/RECORD"] = "\n".join(record) + "\n"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for arc, text in files.items():
                archive.writestr(zipfile.ZipInfo(arc, (2020, 1, 1, 0, 0, 0)), text)
    return paths
