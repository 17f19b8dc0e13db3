"""Model families beyond detection, through the real command: classification events, re-identification, cache."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest


def _colour_classifier(folder: Path) -> Path:
    """A real (tiny) OpenVINO classifier: the share of each BGR channel, as [1,3] probabilities."""
    image = ops.parameter([1, 3, 64, 64], ov.Type.f32, name="image")
    mean = ops.reduce_mean(image, ops.constant(np.array([2, 3], np.int64)), keep_dims=False)
    probs = ops.softmax(ops.multiply(mean, ops.constant(np.float32(0.1))), 1)
    path = folder / "colour-classifier.xml"
    ov.save_model(ov.Model([probs], [image], "colour-classifier"), str(path))
    return path


def _colour_video(path: Path) -> None:
    """10 fps: 3 s blue, 3 s red, 3 s blue."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 120))
    for colour in [(255, 0, 0)] * 30 + [(0, 0, 255)] * 30 + [(255, 0, 0)] * 30:
        writer.write(np.full((120, 160, 3), colour, np.uint8))
    writer.release()


def test_classification_begin_and_end_events(tmp_path, worker_env, edgewatch_cli):
    model = _colour_classifier(tmp_path)
    video = tmp_path / "colours.mp4"
    _colour_video(video)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model:\n  adapter: classification\n  class_names: [blue, green, red]\n  watch_class: red\n")
    proc = edgewatch_cli(["-i", str(video), "-m", str(model), "-c", str(cfg), "--summary", str(tmp_path / "s.json")],
                         worker_env)
    assert proc.returncode == 0, proc.stderr
    events = [e for e in json.loads((tmp_path / "s.json").read_text())["events"] if e["type"].startswith("class_")]
    assert [(e["type"], e["class"]) for e in events] == [("class_begin", "red"), ("class_end", "red")]
    assert abs(events[0]["video_s"] - 3.0) <= 0.4 and abs(events[1]["video_s"] - 6.0) <= 0.4


def test_a_classifier_without_class_names_is_refused(tmp_path, worker_env, edgewatch_cli, videos):
    model = _colour_classifier(tmp_path)
    proc = edgewatch_cli(["-i", str(videos / "car-detection.mp4"), "-m", str(model)], worker_env)
    assert proc.returncode == 2 and "classifier [1,C] with class_names" in proc.stderr


@pytest.mark.slow
def test_reidentification_keeps_six_different_people_apart(tmp_path, worker_env, edgewatch_cli, videos):
    """With re-id on, the six visitors (two in similar grey cardigans) are still six people."""
    cfg = tmp_path / "r.yaml"
    cfg.write_text("model:\n  reid:\n    max_gap_s: 30\n")
    proc = edgewatch_cli(["-i", str(videos / "Pedestrian_Detect_2_1_1.mp4"), "-m", "person-detection-retail-0013",
                          "-c", str(cfg), "--summary", str(tmp_path / "s.json")], worker_env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "s.json").read_text())["total"] == 6


def test_compiled_models_are_cached_between_runs(tmp_path, worker_env, edgewatch_cli, videos):
    env = {**worker_env, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = edgewatch_cli(["-i", str(videos / "car-detection.mp4"), "-m", "person-detection-retail-0013"], env)
    assert proc.returncode == 0, proc.stderr
    blobs = list((tmp_path / "cache" / "edgewatch" / "ov").glob("person-detection-retail-0013-*/*.blob"))
    assert blobs, "no compiled model in the cache"


def test_a_model_from_the_cache_answers_as_compiled_afresh(tmp_path, models_dir, videos, caplog):
    """OpenVINO 2026.4's CPU cache gives back person-detection-retail-0013 FP16-INT8 finding nobody: every
    load, from the cache or not, must find the people the first compile found (runtime._Probe), and once
    the cache answered wrongly, later loads compile that model afresh at once, without a warning; FP16
    comes back from the cache right, its record checked even when unreadable."""
    import logging

    from edgewatch.models import registry, runtime

    cap = cv2.VideoCapture(str(videos / "Pedestrian_Detect_2_1_1.mp4"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 60)
    ok, image = cap.read()
    assert ok

    def people(precision: str) -> tuple[np.ndarray, bool]:
        files = registry.resolve("person-detection-retail-0013", precision, models_dir)
        loaded = runtime.load(files, "CPU", tmp_path, hint="THROUGHPUT", graph_resize=False)
        out = loaded.compiled.create_infer_request().infer({0: loaded.prepare(image)})[0]
        # The one person of this frame scores 0.27 at INT8.
        return out[0, 0][out[0, 0, :, 2] >= 0.2], runtime._from_cache(loaded.compiled)

    def warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]

    first, cached = people("FP16-INT8")
    assert len(first) > 0 and not cached
    (folder,) = tmp_path.glob("person-detection-retail-0013-*")
    assert list(folder.glob("*.blob")) and (folder / "edgewatch-probe.npz").exists()
    again, _ = people("FP16-INT8")  # from the cache: found wrong, compiled afresh
    np.testing.assert_allclose(again, first, atol=1e-4)
    assert len(warnings()) == 1 and "answers otherwise" in warnings()[0]
    assert not list(folder.glob("*.blob")), "the faulty blob stayed in the cache"
    caplog.clear()
    later, cached = people("FP16-INT8")  # a later start: afresh at once
    np.testing.assert_allclose(later, first, atol=1e-4)
    assert not cached and not warnings() and not list(folder.glob("*.blob"))

    fp16, cached = people("FP16")
    assert len(fp16) > 0 and not cached
    for bad in (None, b"not a record", b"PK\x03\x04 cut short"):  # unreadable: checked against a compile afresh
        if bad is not None:
            for record in tmp_path.glob("person-detection-retail-0013-*/edgewatch-probe.npz"):
                record.write_bytes(bad)
        got, cached = people("FP16")
        np.testing.assert_allclose(got, fp16, atol=1e-4)
        assert cached, "FP16 answers right from the cache: it should be used"
    assert not warnings()


def test_reid_embeddings_come_back_in_box_order(tmp_path, models_dir, videos):
    """Each crop of a frame is its own request on the re-id model's streams and they finish in any order:
    every embedding must still be its own box's (the same person twice: the same vector)."""
    from edgewatch.models import registry, runtime
    from edgewatch.models.reid import ReidEmbedder, check_embedding
    from edgewatch.types import Frame

    files = registry.resolve("person-reidentification-retail-0287", "FP16", models_dir)
    embedder = ReidEmbedder(runtime.load(files, "CPU", tmp_path, check=check_embedding, graph_resize=False))
    cap = cv2.VideoCapture(str(videos / "Pedestrian_Detect_2_1_1.mp4"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 60)
    ok, image = cap.read()
    assert ok
    frame = Frame(0, 0.0, 0.0, image)
    a, b, tiny = (300, 60, 420, 400), (500, 100, 600, 400), (10, 10, 12, 12)
    for _ in range(3):  # several rounds: the order in which the requests finish varies
        out = embedder.embed(frame, [a, tiny, b, a, b, a])
        assert out[1].size == 1 and not out[1].any()  # too small to crop
        for v in (out[0], out[2]):
            assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-4
        assert np.allclose(out[0], out[3]) and np.allclose(out[0], out[5]) and np.allclose(out[2], out[4])
        assert float(out[0] @ out[2]) < 0.999
    assert embedder.crops == 15
