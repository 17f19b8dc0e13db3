#!/usr/bin/python3
"""The broker's ACL: which cameras' topics the worker's MQTT user may use.

  worker_acl.py write        write the ACL once (docker-entrypoint.sh, before Mosquitto starts)
  worker_acl.py watch PID    follow the worker's config file: when its cameras change, rewrite the
                             ACL and send Mosquitto (PID) SIGHUP, which reloads the ACL file
                             (returns at once when EDGEWATCH_MQTT_WORKER_CAMERAS is set)

The cameras are, in order:
  EDGEWATCH_MQTT_WORKER_CAMERAS   comma-separated ids, `+` = any (when set, the file is not read)
  the worker's config file        EDGEWATCH_CONFIG, default /config/edgewatch.yaml: the keys of its
                                  `cameras:` mapping, else its top-level `camera:`, else cam1
  cam1                            neither given
Paths: EDGEWATCH_ACL_TEMPLATE (/etc/mosquitto/acl), EDGEWATCH_AUTH_DIR (/etc/mosquitto/auth; the ACL is `acl` there).
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path

import yaml

# The camera id rule, as in inference/edgewatch/ids.py.
CAMERA_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CAMERA_ID_RULE = "1 to 64 letters, digits, _ or -"
DEFAULT_CAMERA = "cam1"
POLL_S = 2.0


class Refused(Exception):
    """A camera list that must not become the ACL; the message is the one line to log."""


def env_cameras(value: str) -> list[str]:
    cams = [c for c in re.split(r"[,\s]+", value) if c]
    if not cams:
        raise Refused("EDGEWATCH_MQTT_WORKER_CAMERAS names no camera")
    for c in cams:
        if c == "+" or CAMERA_ID.fullmatch(c):
            continue
        if len(c) > 64:
            raise Refused(f"EDGEWATCH_MQTT_WORKER_CAMERAS: '{c}' is longer than 64 characters")
        raise Refused(f"EDGEWATCH_MQTT_WORKER_CAMERAS: '{c}' is not a camera id (letters, digits, _ and - only; + = any)")
    return cams


def file_cameras(path: Path) -> list[str]:
    """The camera ids of the worker's config file (either of its forms)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise Refused(f"{path} is not valid YAML" + (f" (line {mark.line + 1})" if mark else "")) from None
    except UnicodeDecodeError:
        raise Refused(f"{path} is not UTF-8 text") from None
    except OSError as err:
        raise Refused(f"cannot read {path}: {err.strerror}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise Refused(f"{path}: the top level must be a mapping of keys")
    if "cameras" in data:
        cameras = data["cameras"]
        if not isinstance(cameras, dict) or not cameras:
            raise Refused(f"{path}: cameras: must map each camera id to its settings")
        ids, where = list(cameras), "cameras"
    else:
        ids, where = [data.get("camera", DEFAULT_CAMERA)], "camera"
    for cam in ids:
        # Not str(cam): YAML reads `007:` as the number 7, which the worker refuses as well.
        if not isinstance(cam, str):
            raise Refused(f"{path}: {where}: {cam!r} is not a camera id: YAML reads it as {type(cam).__name__}, quote it")
        if not CAMERA_ID.fullmatch(cam):
            raise Refused(f"{path}: {where}: {cam!r} is not a camera id ({CAMERA_ID_RULE})")
    return ids


def listed() -> str:
    return os.environ.get("EDGEWATCH_MQTT_WORKER_CAMERAS", "").strip()


def cameras() -> tuple[list[str], str]:
    """The allowed cameras and where they came from."""
    if listed():
        return env_cameras(listed()), "EDGEWATCH_MQTT_WORKER_CAMERAS"
    config = config_path()
    if config.exists():
        return file_cameras(config), str(config)
    return [DEFAULT_CAMERA], f"the default ({config} not found)"


def config_path() -> Path:
    return Path(os.environ.get("EDGEWATCH_CONFIG") or "/config/edgewatch.yaml")


def acl_path() -> Path:
    return Path(os.environ.get("EDGEWATCH_AUTH_DIR") or "/etc/mosquitto/auth") / "acl"


def render(cams: list[str]) -> str:
    """The template with its @CAMERA@ line repeated once per camera."""
    template = Path(os.environ.get("EDGEWATCH_ACL_TEMPLATE") or "/etc/mosquitto/acl").read_text(encoding="utf-8")
    out = []
    for line in template.splitlines():
        if line.startswith("topic") and "@CAMERA@" in line:
            out += [line.replace("@CAMERA@", c) for c in cams]
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def write(text: str) -> None:
    """Atomically: Mosquitto may reload at any moment and must never read half a file."""
    target = acl_path()
    tmp = target.with_name(f".{target.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, target)


def say(msg: str) -> None:
    print(f"broker: {msg}", file=sys.stderr, flush=True)


def catches_sighup(pid: int) -> bool:
    """True once the process handles SIGHUP: before that (still starting) SIGHUP would kill it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next((line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), "0")
    return bool(int(caught, 16) & (1 << (signal.SIGHUP - 1)))


def config_stamp() -> tuple[int, int, int, int] | None:
    try:
        st = config_path().stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def watch(pid: int) -> None:
    """Poll the config file (cheap: one stat) until Mosquitto (our parent, PID) is gone."""
    if listed():
        return  # the cameras are given; no file to follow
    stamp: object = ()  # compare at once: the file may have changed since `write`
    pending = False  # an ACL written but not yet loaded
    while os.getppid() == pid:
        time.sleep(POLL_S)
        now = config_stamp()
        if now != stamp:
            stamp = now
            try:
                cams, origin = cameras()
                text = render(cams)
                if text != acl_path().read_text(encoding="utf-8"):
                    write(text)
                    pending = True
                    say(f"{origin} changed: the worker user may use camera(s): {' '.join(cams)}")
            except Refused as err:
                say(f"{err}; the ACL stays as it was")
            except OSError as err:
                say(f"cannot update the ACL: {err}")
        if pending and catches_sighup(pid):
            os.kill(pid, signal.SIGHUP)
            pending = False


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[1] == "write":
        try:
            cams, origin = cameras()
            write(render(cams))
        except Refused as err:
            say(str(err))
            return 1
        say(f"the worker user may use camera(s): {' '.join(cams)} (from {origin})")
        return 0
    if len(argv) == 3 and argv[1] == "watch" and argv[2].isdigit():
        watch(int(argv[2]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
