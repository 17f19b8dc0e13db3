"""OpenVINO: read, check, add pre-processing to the graph, compile (cached, the cache checked), run
asynchronously in frame order."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import openvino as ov
from openvino.preprocess import ColorFormat, PrePostProcessor, ResizeAlgorithm

from ..errors import EdgewatchError
from .registry import ModelFiles

log = logging.getLogger(__name__)


# cv2.resize of a decoded frame to the network's size, in the camera's decode thread: 0.24 ms for
# 768x432 -> 544x320 linear, where OpenVINO's in-graph Interpolate costs 3.2 ms of the inference
# on this CPU (docs/performance.md). The graph still converts the type and the layout.
INTERPOLATION = {"linear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST}


@dataclass(frozen=True)
class LoadedModel:
    files: ModelFiles
    device: str
    compiled: ov.CompiledModel
    input_hw: tuple[int, int]  # the network's own input size
    output_shapes: list[tuple[int, ...]]
    requests: int
    resize: str = "linear"
    graph_resize: bool = True  # frames of any size go in and the graph resizes them

    @property
    def name(self) -> str:
        return self.files.name

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """The request's input for one decoded BGR frame (1, H, W, 3) u8, as the compiled graph expects it."""
        if not self.graph_resize:
            h, w = self.input_hw
            if image.shape[:2] != (h, w):
                image = cv2.resize(image, (w, h), interpolation=INTERPOLATION[self.resize])
        return np.ascontiguousarray(image[np.newaxis])


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "edgewatch" / "ov"


def _reason(err: Exception) -> str:
    """OpenVINO's messages start with a source location; the cause is on a later line."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip() and not ln.strip().startswith("Exception from")]
    return (lines[0] if lines else "unknown reason")[:200]


def _check_ir(path: Path) -> None:
    """Reject a file that is not IR XML ourselves: OpenVINO would try every front end on it and log noise."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise EdgewatchError(f"cannot read model {path}: not valid XML ({err})") from None
    if root.tag != "net":
        raise EdgewatchError(f"cannot read model {path}: not an OpenVINO IR (root element <{root.tag}>, expected <net>)")


def _read(core: ov.Core, files: ModelFiles) -> ov.Model:
    if files.path.suffix.lower() == ".xml":
        _check_ir(files.path)
    try:
        return core.read_model(str(files.path))
    except RuntimeError as err:
        raise EdgewatchError(f"cannot read model {files.path}: {_reason(err)}") from None


RESIZE = {"linear": ResizeAlgorithm.RESIZE_LINEAR, "nearest": ResizeAlgorithm.RESIZE_NEAREST}


def add_preprocessing(model: ov.Model, resize: str = "linear", graph_resize: bool = True) -> tuple[ov.Model, tuple[int, int]]:
    """Frames go in as OpenCV gives them (u8, BGR, HWC); OpenVINO converts and re-lays them out, and
    with graph_resize takes any size and resizes them too (else they come at the network's size)."""
    if len(model.inputs) != 1:
        raise EdgewatchError(f"model has {len(model.inputs)} inputs; Edgewatch adapters need one image input")
    shape = model.input().get_partial_shape()
    if shape.rank.is_dynamic or shape.rank.get_length() != 4 or shape[2].is_dynamic or shape[3].is_dynamic:
        raise EdgewatchError(f"model input shape {shape} is not an N,C,H,W image")
    h, w = shape[2].get_length(), shape[3].get_length()
    ppp = PrePostProcessor(model)
    tensor = ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC")) \
        .set_color_format(ColorFormat.BGR)
    # OMZ models take BGR, so no colour conversion is needed; the layout change happens in the graph.
    steps = ppp.input().preprocess().convert_element_type(ov.Type.f32)
    if graph_resize:
        tensor.set_spatial_dynamic_shape()
        steps.resize(RESIZE[resize])
    ppp.input().model().set_layout(ov.Layout("NCHW"))
    return ppp.build(), (h, w)


def load(files: ModelFiles, device: str = "CPU", cache_dir: str | os.PathLike[str] | None = None,
         check: Callable[[list[tuple[int, ...]]], None] | None = None, hint: str = "THROUGHPUT",
         resize: str = "linear", graph_resize: bool = True) -> LoadedModel:
    core = ov.Core()
    devices = core.available_devices
    base = device.split(":")[0].split(".")[0]
    if base not in ("AUTO", "MULTI", "HETERO", "BATCH") and device not in devices and base not in devices:
        raise EdgewatchError(f"unknown or unavailable device {device!r}: this machine has {', '.join(devices)} (or AUTO)")
    model = _read(core, files)
    shapes = [tuple(o.get_partial_shape().get_min_shape()) for o in model.outputs]
    if check is not None:
        check(shapes)
    model, input_hw = add_preprocessing(model, resize, graph_resize)
    config = {"PERFORMANCE_HINT": hint}
    try:
        probe = _Probe(Path(cache_dir) if cache_dir else default_cache_dir(), files, device,
                       f"{config} {resize} {graph_resize}", input_hw)
        if not probe.usable():
            compiled = core.compile_model(model, device, config)
        else:
            compiled = core.compile_model(model, device, {**config, "CACHE_DIR": str(probe.folder)})
            compiled = probe.checked(compiled, lambda: core.compile_model(model, device, config))
    except RuntimeError as err:
        raise EdgewatchError(f"cannot compile model {files.name} for {device}: {_reason(err)}") from None
    try:
        requests = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    except RuntimeError:
        requests = 2
    return LoadedModel(files, device, compiled, input_hw, shapes, max(1, requests), resize, graph_resize)


class _Probe:
    """A compiled model taken from OpenVINO's cache must answer as the model compiled afresh did. Not
    always so: person-detection-retail-0013 FP16-INT8 from the CPU cache (OpenVINO 2026.4) finds nobody
    in any frame, with no error. Each compiled form (model files, device, settings, OpenVINO's version) has
    a folder of its own in the cache: OpenVINO's blob, and the outputs of the first compile for one fixed
    noise image. A model loaded from the cache must give the same; one that does not is compiled again
    without the cache, with a warning, its blob removed and the folder marked, so later starts compile it
    afresh at once (a new OpenVINO version gets a new folder and tries the cache again)."""

    def __init__(self, cache: Path, files: ModelFiles, device: str, settings: str, input_hw: tuple[int, int]) -> None:
        stamp = [files.path.resolve()] + [(p.stat().st_size, p.stat().st_mtime_ns)
                                          for p in (files.path, files.path.with_suffix(".bin")) if p.is_file()]
        key = hashlib.sha256(repr((stamp, device, settings, ov.get_version())).encode()).hexdigest()[:20]
        self.folder = cache / f"{files.name}-{key}"
        self.path = self.folder / "edgewatch-probe.npz"
        self.refused = self.folder / "edgewatch-refused"
        self.name, self.input_hw = files.name, input_hw

    def usable(self) -> bool:
        """Whether to compile through the cache: its folder can be made, and its blob never answered wrongly."""
        if self.refused.exists():
            log.info("%s: compiled without the cache (its cached form answered wrongly before: %s)", self.name,
                     self.refused)
            return False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            log.warning("model cache %s not writable (%s); compiling without a cache", self.folder, err)
            return False
        return True

    def outputs(self, compiled: ov.CompiledModel) -> list[np.ndarray]:
        h, w = self.input_hw
        image = np.random.default_rng(0).integers(0, 256, (1, h, w, 3), dtype=np.uint8)
        request = compiled.create_infer_request()
        request.infer({0: image})
        return [request.get_output_tensor(i).data.copy() for i in range(len(compiled.outputs))]

    def checked(self, compiled: ov.CompiledModel, afresh: Callable[[], ov.CompiledModel]) -> ov.CompiledModel:
        got = self.outputs(compiled)
        if not _from_cache(compiled):
            self._save(got)
            return compiled
        want = self._load()
        if want is not None and _same(got, want):
            return compiled
        fresh = afresh()
        if want is None:  # recorded by no compile of ours (an older Edgewatch, or removed): record it now
            want = self.outputs(fresh)
            self._save(want)
            if _same(got, want):
                return compiled
        log.warning("%s: the compiled model in the cache %s answers otherwise than the model compiled afresh "
                    "(an OpenVINO fault); compiled without the cache, now and at later starts", self.name, self.folder)
        self._refuse()
        return fresh

    def _refuse(self) -> None:
        try:
            for blob in self.folder.glob("*.blob"):
                blob.unlink()
            self.refused.write_text(f"OpenVINO {ov.get_version()}: {self.name} from this cache answered otherwise "
                                    "than compiled afresh; remove this file to try the cache again\n")
        except OSError as err:
            log.warning("model cache: cannot mark %s (%s)", self.folder, err)

    def _save(self, outputs: list[np.ndarray]) -> None:
        # Written aside and moved in: a worker starting meanwhile reads the whole record or none.
        part = self.path.with_name(f"{self.path.name}.{os.getpid()}.part")
        try:
            with open(part, "wb") as f:
                np.savez(f, *outputs)
            os.replace(part, self.path)
        except OSError as err:
            log.warning("model cache: cannot record %s (%s)", self.path, err)

    def _load(self) -> list[np.ndarray] | None:
        try:
            with np.load(self.path) as saved:
                return [saved[f"arr_{i}"] for i in range(len(saved.files))]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # none yet, or unreadable: check afresh
            return None


def _from_cache(compiled: ov.CompiledModel) -> bool:
    try:
        return bool(compiled.get_property("LOADED_FROM_CACHE"))
    except RuntimeError:
        return False


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(x.shape == y.shape and np.allclose(x, y, rtol=1e-3, atol=1e-4)
                                    for x, y in zip(a, b, strict=True))


class SharedInference:
    """One compiled model's AsyncInferQueue, shared by every camera of the worker.

    `submit()` starts a request for a tagged input and returns at once (the caller keeps at most
    `capacity` in flight, so it never waits for an idle request); `take_done()` hands back finished
    results in the order they finished. Ordering per camera and fairness between cameras are the
    caller's (the worker's loop), which knows the cameras. `wake` is set when a result is ready.
    """

    def __init__(self, loaded: LoadedModel, jobs: int | None = None, wake: threading.Event | None = None) -> None:
        self.loaded = loaded
        # One request more than the device runs at once: a finished stream finds the next frame
        # already queued instead of idling while Python collects the result and submits another
        # (bench/inference_throughput.py: ~3 % more throughput on 2 CPU streams).
        self.capacity = jobs or loaded.requests + 1
        self.wake = wake or threading.Event()
        self._queue = ov.AsyncInferQueue(loaded.compiled, self.capacity)
        self._queue.set_callback(self._on_done)
        self._lock = threading.Lock()
        self._done: list[tuple[object, list[np.ndarray], float]] = []
        self._inputs: dict[int, np.ndarray] = {}  # kept referenced until its request is done (share_inputs)
        self._tags: dict[int, object] = {}
        self._seq = 0
        self._error: BaseException | None = None

    @property
    def in_flight(self) -> int:
        return len(self._tags)

    @property
    def free(self) -> int:
        return self.capacity - len(self._tags)

    def submit(self, tag: object, tensor: np.ndarray) -> None:
        seq, self._seq = self._seq, self._seq + 1
        self._tags[seq] = tag
        self._inputs[seq] = tensor
        # share_inputs: the request reads the prepared frame where it lies instead of copying it.
        self._queue.start_async({0: tensor}, seq, share_inputs=True)

    def take_done(self) -> list[tuple[object, list[np.ndarray], float]]:
        """Finished (tag, outputs, infer_ms), oldest first; raises if an inference failed."""
        with self._lock:
            if self._error is not None:
                raise EdgewatchError(f"inference failed: {self._error}")
            done, self._done = self._done, []
        return done

    def wait_all(self) -> None:
        self._queue.wait_all()

    def _on_done(self, request: ov.InferRequest, seq: int) -> None:
        try:
            # Copy: the request's buffers are reused by the next inference.
            outputs = [request.get_output_tensor(i).data.copy() for i in range(len(request.model_outputs))]
            ms = float(request.latency)
        except BaseException as err:  # surfaced in the consuming thread
            with self._lock:
                self._error = err
            self.wake.set()
            return
        with self._lock:
            self._done.append((self._tags.pop(seq), outputs, ms))
            self._inputs.pop(seq, None)
        self.wake.set()
