"""--tracks and --detections: MOTChallenge files that round-trip and name their faults."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgewatch import mot
from edgewatch.errors import EdgewatchError


def test_rows_round_trip(tmp_path):
    boxes = [(10.0, 20.0, 50.5, 120.25), (300.0, 40.0, 360.0, 200.0)]
    path = tmp_path / "t.txt"
    path.write_text(mot.row(3, 7, boxes[0], 0.91) + mot.row(1, 2, boxes[1], 0.5))
    rows = mot.read(path)
    assert rows.frame.tolist() == [1, 3]  # sorted by frame
    assert rows.ident.tolist() == [2, 7]
    assert np.allclose(rows.box, [boxes[1], boxes[0]], atol=0.01)
    assert np.allclose(rows.conf, [0.5, 0.91])


def written_frames(path) -> list[int]:
    """The frame numbers of a MOT file's rows, in the order they were written."""
    return [int(line.split(",")[0]) for line in path.read_text().splitlines()]


def test_a_run_writes_its_tracks_and_detections(tmp_path, videos, worker_env, edgewatch_cli):
    tracks, dets, summary = tmp_path / "tracks.txt", tmp_path / "det.txt", tmp_path / "s.json"
    r = edgewatch_cli(["-i", str(videos / "Pedestrian_Detect_2_1_1.mp4"), "-m", "person-detection-retail-0013",
                       "--tracks", str(tracks), "--detections", str(dets), "--summary", str(summary),
                       "--no-progress"], worker_env)
    assert r.returncode == 0, r.stderr
    s = json.loads(summary.read_text())
    t = mot.read(tracks, max_frame=s["frames"])
    d = mot.read(dets, max_frame=s["frames"])
    assert t.ids == {tr["id"] for tr in s["tracks"]} == set(range(1, 7))
    assert d.ids == {-1}
    assert d.conf.min() >= 0.1  # what the tracker was given: tracker.low_threshold and up
    for tr in s["tracks"]:  # each person's rows run from their entry (frames from 1 at 10 fps) to their exit
        frames = t.frame[t.ident == tr["id"]]
        assert frames.min() == round(tr["enter_s"] * 10) + 1 and frames.max() <= tr["exit_s"] * 10 + 1.01
    written = written_frames(tracks)
    assert written == sorted(written)  # in frame order, first steps included
    # a track is written where it was detected, or in a short gap between two such frames (filled)
    detected = np.array([len(d.at(n)) > 0 and np.abs(d.at(n).box - box).max(axis=1).min() < 0.02
                         for n, box in zip(t.frame, t.box, strict=True)])
    assert detected.mean() > 0.9
    for n, ident in zip(t.frame[~detected], t.ident[~detected], strict=True):
        seen = t.frame[(t.ident == ident) & detected]
        assert ((seen < n) & (seen >= n - 30)).any() and ((seen > n) & (seen <= n + 30)).any()


def _tracks_run(tmp_path, frames: list[list[tuple[tuple[float, float, float, float], float]]], fill_s: float = 3.0,
                check=None):
    """Analytics over synthetic detections, written by the worker's tracks output; `check(i, written)`
    after each frame sees the frame numbers written so far."""
    from cfghelp import analytics
    from edgewatch.config import validate
    from edgewatch.publishers.motfiles import TracksOutput
    from edgewatch.types import Detection, Frame, ModelOutput

    a = analytics(validate({"source": {"input": "x.mp4"}, "tracker": {"min_hits": 3}}), (768, 432))
    path = tmp_path / "tracks.txt"
    out = TracksOutput(str(path), fill_s)
    image = np.zeros((432, 768, 3), np.uint8)
    for i, dets in enumerate(frames):
        out.frame(a.update(ModelOutput(Frame(i, i / 10, 0.0, image), 1.0, [Detection(b, c) for b, c in dets])))
        if check is not None:
            out.file.flush()
            check(i, written_frames(path))
    out.close()
    written = written_frames(path)
    assert written == sorted(written)  # in frame order
    return mot.read(path)


def walker(i: int) -> tuple[float, float, float, float]:
    return (100 + 5 * i, 100, 160 + 5 * i, 280)


def test_tracks_file_holds_a_person_from_their_first_frame(tmp_path):
    """A track confirmed at its third frame is written from its first; a frame waits only while someone
    seen in it may still be confirmed (fill_s 0: no wait for gaps)."""
    frames = [[(walker(i), 0.9)] + ([((500, 100, 560, 280), 0.9)] if i >= 6 else []) for i in range(8)]
    expect = {1: [], 2: [1, 2], 3: [1, 2, 3], 7: [1, 2, 3, 4, 5, 6]}  # frames 7 and 8 wait on the second person

    def check(i, written):
        if i in expect:
            assert written == expect[i]

    rows = _tracks_run(tmp_path, frames, fill_s=1e-6, check=check)
    assert rows.frame.tolist() == list(range(1, 9)) and set(rows.ident.tolist()) == {1}
    assert np.allclose(rows.box[0], walker(0)) and np.allclose(rows.conf, 0.9)


def test_tracks_file_fills_a_short_gap_where_the_person_was_missed(tmp_path):
    """Someone missed for four frames and found again keeps their rows there, their box moved evenly
    from where they were last seen to where they were found; a gap longer than the wait is not filled."""
    rows = _tracks_run(tmp_path, [[(walker(i), 0.9)] if not 5 <= i < 9 else [] for i in range(12)])
    assert rows.frame.tolist() == list(range(1, 13)) and set(rows.ident.tolist()) == {1}
    assert np.allclose(rows.box[6], walker(6), atol=0.01)  # frame 7: between frame 5's box and frame 10's
    rows = _tracks_run(tmp_path, [[(walker(i), 0.9)] if not 5 <= i < 9 else [] for i in range(12)], fill_s=0.3)
    assert rows.frame.tolist() == [1, 2, 3, 4, 5, 10, 11, 12]  # lost 0.5 s, more than the 0.3 s waited
    assert set(rows.ident.tolist()) == {1}


def test_several_cameras_need_their_own_files(tmp_path, videos):
    from edgewatch import config

    data = {"tracks_file": str(tmp_path / "t.txt"),
            "cameras": {"a": {"source": {"input": "x.mp4"}}, "b": {"source": {"input": "y.mp4"}}}}
    with pytest.raises(EdgewatchError, match=r"cameras.b.tracks_file: .* also camera .a..s \(use \{camera\}"):
        config.validate(data, origin="site.yaml")
    data["tracks_file"] = str(tmp_path / "tracks-{camera}.txt")
    cfg = config.validate(data, origin="site.yaml")
    assert cfg.cameras["b"].tracks_file.endswith("tracks-b.txt")


@pytest.mark.parametrize("text, cause", [
    ("1,1,10,10,5\n", "line 1: 5 columns, expected at least 6"),
    ("1,1,10,10,5,5,1\n1,2,10,10,5,5\n", "line 2: 6 columns, expected 7"),
    ("0,1,10,10,5,5\n", "frame 0 is not a whole number from 1"),
    ("1,1,10,10,-5,5\n", "line 1: box width and height must be positive"),
    ("1,a,10,10,5,5\n", "line 1: not a number"),
    ("1,1,10,10,5,5\n2000,1,10,10,5,5\n", "line 2: frame 2000 is beyond the video's 1394 frames"),
])
def test_bad_files_are_named(tmp_path, text, cause):
    p = tmp_path / "gt.txt"
    p.write_text(text)
    with pytest.raises(EdgewatchError, match=cause):
        mot.read(p, "ground truth", max_frame=1394)
