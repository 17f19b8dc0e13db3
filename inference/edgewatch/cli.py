"""The `edgewatch` command: run the worker, fetch models, answer the container health check."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

# OpenCV and its FFmpeg print their own warnings for every bad file; Edgewatch reports one clear line
# instead. Set before cv2 is imported; users can still turn them on.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")

from . import __version__, config  # noqa: E402
from .errors import EdgewatchError

RUN_HELP = """examples:
  edgewatch -i video.mp4 -m person-detection-retail-0013 --summary out.json
  edgewatch -i rtsp://cam/stream -m model.xml -d CPU --mqtt-host broker --camera door
  edgewatch -i photo.jpg -o annotated.jpg
  edgewatch -c site.yaml                 # every camera of the file, one process, one model
  edgewatch cameras check -c site.yaml   # open every camera's input without running the model
  edgewatch models fetch person-detection-retail-0013 --precision FP16
  edgewatch media fetch                  # the demo's videos into $EDGEWATCH_MEDIA (./media)
  edgewatch evaluate clip.mp4 --gt gt.txt -c lines.yaml  # accuracy and speed on your scene (edgewatch[eval])
"""


def _run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgewatch", description="Count people in video with OpenVINO and publish the facts.",
                                epilog=RUN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-i", "--input", help="image, video, folder of images, CAM or device index, rtsp:// or http(s):// URL")
    p.add_argument("-m", "--model", help="model name in $EDGEWATCH_MODELS (default ./models) or path to .xml/.onnx")
    p.add_argument("-d", "--device", help="OpenVINO device: CPU (default), GPU, AUTO, ...")
    p.add_argument("-pt", "--prob-threshold", type=float, help="detection confidence threshold (default 0.5)")
    p.add_argument("-c", "--config", help="YAML config file (see docs/config.md); flags override it")
    p.add_argument("--camera", help="camera id used in MQTT topics (default cam1)")
    p.add_argument("--precision", help="model precision folder: FP16 (default), FP32, FP16-INT8")
    p.add_argument("--adapter", choices=["auto", "detection", "segmentation", "classification"], help="model family")
    p.add_argument("--realtime", action="store_true", default=None, help="pace files at their own frame rate")
    p.add_argument("--loop", action="store_true", default=None, help="start files again at their end")
    p.add_argument("-o", "--output", help="annotated output: file.mp4, file.jpg, a stream URL, or - for raw frames on stdout")
    p.add_argument("--video-policy", choices=["always", "on-event", "off"], help="when to send video (default always)")
    p.add_argument("--mqtt-host", help="MQTT broker host (none: publish nothing)")
    p.add_argument("--mqtt-port", type=int, help="MQTT broker port (default 1883)")
    p.add_argument("--mqtt-user", help="MQTT username")
    p.add_argument("--mqtt-password", help="MQTT password (prefer EDGEWATCH_MQTT_PASSWORD or _FILE)")
    p.add_argument("--summary", help="write a JSON summary of the run to this file (- for stdout)")
    p.add_argument("--state-file", help="persist the day's totals here across restarts")
    p.add_argument("--tracks", help="write every frame's confirmed tracks here, MOTChallenge format: each person from "
                   "their first frame and through short gaps where they were missed (several cameras: put {camera} "
                   "in the name, e.g. tracks-{camera}.txt)")
    p.add_argument("--detections", help="write the detections the tracker was given here, MOTChallenge format, id -1")
    p.add_argument("--show", action="store_true", default=None, help="show the annotated video in a window")
    p.add_argument("--strict", action="store_true", help="with several cameras: one whose input cannot be opened at "
                   "start is an error (default: it waits and retries while the others run)")
    p.add_argument("--wait", action="store_true", help="run as a service: an input that cannot be opened yet "
                   "(a file not there, a camera not answering) waits and is retried with back-off, even a single "
                   "camera's; a missing demo video is fetched (edgewatch media fetch). Without it one camera fails at once")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="log every event")
    p.add_argument("--version", action="version", version=f"edgewatch {__version__}")
    return p


def _overrides(a: argparse.Namespace) -> dict[str, Any]:
    return {
        "source.input": a.input, "model.name": a.model, "model.device": a.device, "model.threshold": a.prob_threshold,
        "camera": a.camera, "model.precision": a.precision, "model.adapter": a.adapter, "source.realtime": a.realtime,
        "source.loop": a.loop, "video.output": a.output, "video.policy": a.video_policy, "mqtt.host": a.mqtt_host,
        "mqtt.port": a.mqtt_port, "mqtt.username": a.mqtt_user, "mqtt.password": a.mqtt_password,
        "summary": a.summary, "state_file": a.state_file,
        "tracks_file": a.tracks, "detections_file": a.detections, "video.show": a.show,
    }


# Flags and variables that name one camera: with a `cameras:` config each camera has its own.
ONE_CAMERA = {"source.input": "-i/--input or EDGEWATCH_INPUT", "camera": "--camera or EDGEWATCH_CAMERA"}


def build_config(a: argparse.Namespace, env: dict[str, str], need_input: bool = True) -> config.Config:
    """Defaults < config file < environment < flags."""
    base = config.load_yaml(a.config) if a.config else {}
    # Dotted keys; flags after variables, so flags win.
    overrides = {**config.from_environment(env), **{k: v for k, v in _overrides(a).items() if v is not None}}
    if "cameras" in base:
        for key, where in ONE_CAMERA.items():
            if key in overrides:
                raise EdgewatchError(f"{where}: {a.config} has a cameras: mapping; set each camera's "
                                     f"{'input' if key == 'source.input' else 'id'} there")
    cfg = config.validate(config.merge(base, overrides), origin=a.config or "config")
    for cam_id, cam in cfg.cameras.items():
        if need_input and cam.source.input is None:
            raise EdgewatchError("no input given: use -i FILE|FOLDER|URL|CAM (or source.input in the config)"
                                 if cfg.single and "cameras" not in base else
                                 f"config: cameras.{cam_id}.source.input: camera {cam_id} has no input")
    return cfg



def cmd_run(argv: list[str]) -> int:
    a = _run_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING, format="edgewatch: %(message)s")
    from .worker import Worker, prepare

    cfg = build_config(a, dict(os.environ))
    stages = prepare(cfg, strict=a.strict, wait=a.wait)
    worker = Worker(cfg, stages, progress=not a.no_progress)
    # SIGTERM (docker stop, systemd) is a normal shutdown: stop reading, then flush like the end of a file.
    signal.signal(signal.SIGTERM, lambda signum, frame: worker.request_stop())
    interrupted = False
    failure: EdgewatchError | None = None
    bug: Exception | None = None
    try:
        worker.run()
    except KeyboardInterrupt:
        interrupted = True
    except EdgewatchError as err:
        failure = err
    except Exception as err:  # a bug: what was gathered is still written (summary, state, outbox), then said
        traceback.print_exc()
        bug = err
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    terminated = worker.stop.is_set()
    result = worker.finish()
    for m in result.messages:
        print(f"edgewatch: {m}", file=sys.stderr)
    s = result.summary
    how = f"{' (interrupted)' if interrupted else ''}{' (stopped)' if terminated else ''}"
    for cam_id, c in (s["cameras"].items() if "cameras" in s else [(None, s)]):
        print(f"edgewatch: {cam_id + ': ' if cam_id else ''}{c['frames']} frames, {c['fps']} fps, {c['total']} people, "
              f"avg {c['avg_duration_s']} s{how}", file=sys.stderr)
    if failure is not None:
        raise failure
    if bug is not None:
        print(f"edgewatch: error: internal error ({type(bug).__name__}: {bug}); what was gathered is saved; "
              "please report it with the trace above", file=sys.stderr)
        return 1
    return 130 if interrupted else 0


def cmd_models(argv: list[str]) -> int:
    from .models import registry

    p = argparse.ArgumentParser(prog="edgewatch models", description="Manage models in $EDGEWATCH_MODELS.")
    sub = p.add_subparsers(dest="action", required=True)
    f = sub.add_parser("fetch", help="download an Open Model Zoo model, verifying checksums")
    f.add_argument("name")
    f.add_argument("--precision", default="FP16")
    f.add_argument("--dir", help="models folder (default $EDGEWATCH_MODELS or ./models)")
    src = f.add_mutually_exclusive_group()
    src.add_argument("--base-url", help="mirror of the Open Model Zoo storage (default the official one)")
    src.add_argument("--from", dest="from_dir", metavar="DIR", help="copy it from a models folder instead (an "
                     "offline host): DIR/<name>/<precision>/, checksums verified the same way")
    sub.add_parser("list", help="list known models and what is on disk")
    sub.add_parser("ensure", help="fetch the models a run would load when they are missing (the container does "
                   "this before it starts the worker); takes the run's own flags, e.g. -c site.yaml")
    if argv[:1] == ["ensure"]:  # the run's flags follow as they are (argparse cannot pass on '-c ...' itself)
        return _ensure_models(argv[1:])
    a = p.parse_args(argv)
    if a.action == "fetch":
        base_url = Path(a.from_dir).resolve().as_uri() if a.from_dir else a.base_url
        files = registry.fetch(a.name, a.precision, Path(a.dir) if a.dir else None, base_url)
        print(files.path)
        return 0
    root = registry.models_dir()
    for name, precisions in sorted(registry.load_catalog()["models"].items()):
        for prec in precisions:
            try:
                registry.resolve(name, prec, root)
                state = "present"
            except EdgewatchError:
                state = "-"
            print(f"{name:40} {prec:10} {state}")
    return 0


def _ensure_models(run_args: list[str]) -> int:
    from .models import registry

    cfg = build_config(_run_parser().parse_args(run_args), dict(os.environ), need_input=False)
    root = registry.models_dir()
    wanted = [cfg.model.name] + ([cfg.model.reid.model] if cfg.model.reid is not None else [])
    for name in wanted:
        try:
            registry.resolve(name, cfg.model.precision, root)
            continue
        except EdgewatchError:
            if name not in registry.load_catalog()["models"]:
                raise  # a path, or a model no catalogue knows: the run's own error says what is wrong
        if not os.access(root, os.W_OK):
            raise EdgewatchError(f"model {name} ({cfg.model.precision}) is not in {root} and {root} is not writable: "
                                 f"put it there on the host (edgewatch models fetch {name} --dir <models folder>)")
        print(f"edgewatch: model {name} ({cfg.model.precision}) not in {root}: fetching it", file=sys.stderr)
        registry.fetch(name, cfg.model.precision, root)
    return 0


def cmd_healthcheck(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="edgewatch healthcheck", description="Exit 0 while the worker processes frames, "
                                "or runs with no camera but waits for an input (--wait).")
    p.add_argument("--max-age", type=float, default=30.0, help="seconds since the last processed frame")
    a = p.parse_args(argv)
    path = os.environ.get("EDGEWATCH_HEARTBEAT")
    if not path:
        raise EdgewatchError("EDGEWATCH_HEARTBEAT is not set: no heartbeat file to check")
    try:
        age = time.time() - Path(path).stat().st_mtime
    except FileNotFoundError:
        raise EdgewatchError(f"no heartbeat yet at {path}") from None
    if age > a.max_age:
        raise EdgewatchError(f"last frame processed {age:.0f} s ago (limit {a.max_age:g} s)")
    return 0


def cmd_cameras(argv: list[str]) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from .sources import open_source

    p = argparse.ArgumentParser(prog="edgewatch cameras", description="Check a site's cameras without running the model.")
    sub = p.add_subparsers(dest="action", required=True)
    c = sub.add_parser("check", help="open every camera's input; print its resolution, frame rate and whether it is "
                       "reachable (exit 1 if one is not)")
    c.add_argument("-c", "--config", required=True, help="the site's YAML config")
    a = p.parse_args(argv)
    cfg = build_config(_run_parser().parse_args(["-c", a.config]), dict(os.environ))

    def probe(cam_id: str) -> tuple[str, str, bool]:
        try:
            source = open_source(cfg.cameras[cam_id].source)
        except EdgewatchError as err:
            return cam_id, f"unreachable  {err}", False
        info = source.info
        source.close()
        try:
            config.check_against_source(cfg, cam_id, info.width, info.height, info.fps)
        except EdgewatchError as err:
            return cam_id, f"{info.width}x{info.height} {info.fps:g} fps  {err}", False
        return cam_id, f"{info.width}x{info.height} {info.fps:g} fps  ok  {info.uri}", True

    # In parallel: a dead camera costs its open timeout once, not once per camera after it.
    with ThreadPoolExecutor(max_workers=min(8, len(cfg.cameras))) as pool:
        results = list(pool.map(probe, cfg.cameras))
    width = max(len(cam_id) for cam_id in cfg.cameras)
    for cam_id, text, _ in results:
        print(f"{cam_id:{width}}  {text}")
    return 0 if all(ok for _, _, ok in results) else 1


def cmd_media(argv: list[str]) -> int:
    from . import media

    p = argparse.ArgumentParser(prog="edgewatch media", description="The demo's videos in $EDGEWATCH_MEDIA "
                                "(default ./media): Intel's sample-videos, CC BY 4.0, checked against SHA-256.")
    sub = p.add_subparsers(dest="action", required=True)
    f = sub.add_parser("fetch", help="download demo media (all of it without a name), verifying checksums")
    f.add_argument("name", nargs="*")
    f.add_argument("--dir", help="media folder (default $EDGEWATCH_MEDIA or ./media)")
    src = f.add_mutually_exclusive_group()
    src.add_argument("--base-url", help="a mirror of the published files (default the official one)")
    src.add_argument("--from", dest="from_dir", metavar="DIR", help="copy them from a folder instead (an offline "
                     "host): any file under DIR with a catalogued file's checksum, whatever its name")
    sub.add_parser("list", help="the demo media and whether each is in the media folder")
    a = p.parse_args(argv)
    if a.action == "fetch":
        for path in media.fetch(a.name, Path(a.dir) if a.dir else None, a.base_url,
                                from_dir=Path(a.from_dir) if a.from_dir else None):
            print(f"{path}  ok")
        return 0
    cat = media.load_catalog()
    print(f"{cat['source']}, {cat['licence']}; folder {media.media_dir()}")
    for f, state in media.status():
        print(f"{f.name:34} {f.size:>9} bytes  {state:15} {f.about}")
    return 0


def cmd_evaluate(argv: list[str]) -> int:
    from .evaluation.command import main as evaluate

    try:
        return evaluate(argv)
    except EdgewatchError as err:  # every error of the command says it is the evaluation's
        raise EdgewatchError(str(err) if str(err).startswith("evaluate: ") else f"evaluate: {err}") from None


COMMANDS = {"evaluate": cmd_evaluate, "media": cmd_media, "models": cmd_models, "cameras": cmd_cameras, "healthcheck": cmd_healthcheck, "run": cmd_run}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        command, argv = COMMANDS[argv[0]], argv[1:]
    else:
        command = cmd_run
    try:
        code = command(argv)
    except EdgewatchError as err:
        print(f"edgewatch: error: {err}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    if command is cmd_run:
        _leave(code)
    return code


def _leave(code: int) -> None:
    """End a run without interpreter teardown: every output is flushed and closed by now, and OpenVINO's
    native threads can abort while Python finalizes ("terminate called without an active exception")."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
