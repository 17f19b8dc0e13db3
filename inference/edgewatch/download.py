"""One verified download: into a temporary file beside the target, checked against its SHA-256, then renamed
into place. A cut connection, a wrong checksum or an HTTP error leaves nothing behind but the old file (if
any), and says so in one line naming the URL. Models (models/registry.py) and demo media (media.py) use it."""

from __future__ import annotations

import hashlib
import http.client
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .errors import EdgewatchError


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_verified(url: str, dest: Path, sha256: str, timeout_s: float = 60.0) -> None:
    """Download `url` to `dest` if it is not there with the right checksum already."""
    if dest.is_file() and sha256_of(dest) == sha256:
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part", delete=False) as tmp:
        tmp_path = Path(tmp.name)
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 - catalogued URL
                expected = resp.headers.get("Content-Length")
                got = 0
                while chunk := resp.read(1 << 20):
                    tmp.write(chunk)
                    got += len(chunk)
                if expected is not None and got != int(expected):
                    raise EdgewatchError(f"download failed for {url}: the connection closed after {got} of {expected} bytes")
        except urllib.error.HTTPError as err:
            tmp_path.unlink(missing_ok=True)
            raise EdgewatchError(f"download failed for {url}: HTTP {err.code} {err.reason}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
            tmp_path.unlink(missing_ok=True)
            reason = getattr(err, "reason", None) or f"{type(err).__name__}: {err}"
            raise EdgewatchError(f"download failed for {url}: {reason}") from None
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
    got_sha = sha256_of(tmp_path)
    if got_sha != sha256:
        tmp_path.unlink(missing_ok=True)
        raise EdgewatchError(f"checksum mismatch for {url}: expected sha256 {sha256[:12]}…, got {got_sha[:12]}…")
    # The temporary file is private (0600); the published file is not: a folder fetched on the host as one
    # user is mounted into the worker's container, which reads it as uid 10001.
    tmp_path.chmod(0o644)
    tmp_path.replace(dest)
