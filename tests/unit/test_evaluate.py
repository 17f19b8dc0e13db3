"""`edgewatch evaluate`, run in the evaluation venv (edgewatch[eval]) on a generated crowded clip."""

from __future__ import annotations

import json
import subprocess

import pytest

from edgewatch import mot


def evaluate(eval_python, env, *args, cwd=None):
    return subprocess.run([str(eval_python), "-m", "edgewatch", "evaluate", *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_the_truth_scored_against_itself_is_perfect(eval_python, worker_env, crowd3, tmp_path):
    """The metric library is wired right: the clip's own truth as the tracks gives IDF1 1.0."""
    gt = crowd3 / "gt" / "gt.txt"
    r = evaluate(eval_python, worker_env, crowd3 / "video.mp4", "--gt", gt, "--tracks", gt,
                 "-c", crowd3 / "lines.yaml", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    row = json.loads((tmp_path / "results.json").read_text())[0]
    assert (row["IDF1"], row["HOTA"], row["MOTA"], row["IDSW"]) == (1.0, 1.0, 1.0, 0)
    truth = json.loads((crowd3 / "truth.json").read_text())
    assert row["unique"] == row["unique_true"] == truth["people"]
    for name, c in truth["lines"].items():
        assert row[name] == row[f"{name}_true"] == f"{c['in']}/{c['out']}"
    assert (row["crossings_missed"], row["crossings_extra"]) == (0, 0)  # every crossing matched one by one
    assert "IDF1" in r.stdout.splitlines()[0]  # the table on the terminal


def test_a_real_run_reports_real_figures(eval_python, worker_env, crowd3, tmp_path):
    gt = crowd3 / "gt" / "gt.txt"
    r = evaluate(eval_python, worker_env, crowd3 / "video.mp4", "--gt", gt, "-c", crowd3 / "lines.yaml",
                 "--tracker", "min_hits=3", "--tracker", "min_hits=6", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    rows = json.loads((tmp_path / "results.json").read_text())
    assert [row["variant"] for row in rows] == ["person-detection-retail-0013 FP16 min_hits=3",
                                                "person-detection-retail-0013 FP16 min_hits=6"]
    for row in rows:
        assert 0.3 < row["IDF1"] < 1.0 and 0.3 < row["HOTA"] < 1.0
        assert row["fps"] > 0 and row["infer_ms"] > 0 and 1.0 < row["model_mb"] < 5.0
    # a track must be seen longer before it counts: fewer people counted, never more
    assert rows[1]["unique"] <= rows[0]["unique"]
    assert (tmp_path / "results.csv").read_text().startswith("variant,fps,infer_ms,model_mb,IDF1")
    assert (tmp_path / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the scored tracks are the run's own --tracks file
    assert len(mot.read(tmp_path / "runs" / "run0.tracks.txt")) > 100
    # crossing by crossing, from the run's own line_cross events: what is missed and what is counted for
    # nobody add up to the difference of the totals
    truth = json.loads((crowd3 / "truth.json").read_text())
    for row in rows:
        counted = sum(int(n) for name in truth["lines"] for n in row[name].split("/"))
        true = sum(c["in"] + c["out"] for c in truth["lines"].values())
        assert row["crossings_missed"] - row["crossings_extra"] == true - counted
        assert row["crossings_missed"] + row["crossings_extra"] < true / 2


@pytest.mark.parametrize("case, cause", [
    ("columns", "ground truth .*gt.txt: line 1: 5 columns, expected at least 6"),
    ("beyond", "ground truth .*gt.txt: line 2: frame 999 is beyond the video's 200 frames"),
    ("metric", "--metrics: unknown metric 'IDF2'"),
    ("model", "model road-segmentation-adas-0001 is a segmentation model, not a detector"),
    ("tracker", "--tracker: tracker.min_hitz: unknown key"),
])
def test_bad_input_is_one_line_and_exit_2(eval_python, worker_env, crowd3, tmp_path, case, cause):
    gt = tmp_path / "gt.txt"
    gt.write_text("1,1,10,10,5\n" if case == "columns" else "1,1,10,10,50,90\n999,1,10,10,50,90\n"
                  if case == "beyond" else (crowd3 / "gt" / "gt.txt").read_text())
    extra = {"metric": ["--metrics", "IDF1,IDF2"], "model": ["-m", "road-segmentation-adas-0001"],
             "tracker": ["--tracker", "min_hitz=2"]}.get(case, [])
    r = evaluate(eval_python, worker_env, crowd3 / "video.mp4", "--gt", gt, "--out", tmp_path / "out", *extra)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgewatch: error: evaluate: "), r.stderr
    assert __import__("re").search(cause, lines[0]), lines[0]
    assert not (tmp_path / "out" / "results.json").exists()


def test_a_perfect_tracker_takes_each_detections_true_identity():
    """score.perfect_tracks (the bench's "what the detections allow"): a detection gets the identity of the
    true person it covers, one to one; a box that covers nobody, or two people at once, is dropped."""
    import numpy as np

    from edgewatch.config import LineConfig
    from edgewatch.evaluation import score

    frames, idents, boxes = [], [], []
    for n in range(1, 21):  # person 1 walks right, person 2 left, across x = 100; they meet at frame 10
        for ident, x in ((1, 40 + 6 * n), (2, 160 - 6 * n)):
            frames.append(n), idents.append(ident), boxes.append((x - 10, 50, x + 10, 110))
    truth = mot.MotRows(np.array(frames), np.array(idents), np.array(boxes, float), np.ones(len(frames)))
    d_frames, d_boxes = [], []
    for n, (x1, y1, x2, y2) in zip(frames[::-1], boxes[::-1]):  # listed in the other order, jittered
        d_frames.append(n), d_boxes.append((x1 + 1, y1 - 1, x2 + 1, y2))
    d_frames += [3, 4]  # a box over nobody, and one around both people at once
    d_boxes += [(300, 50, 320, 110), (40, 50, 160, 110)]
    dets = mot.MotRows(np.array(d_frames), np.full(len(d_frames), -1), np.array(d_boxes, float),
                       np.ones(len(d_frames)))

    ideal = score.perfect_tracks(dets, truth)
    assert len(ideal) == len(truth)
    for n in (1, 10, 20):
        got, want = ideal.at(n), truth.at(n)
        assert sorted(zip(got.ident.tolist(), got.box[:, 0].tolist())) == \
            sorted(zip(want.ident.tolist(), (want.box[:, 0] + 1).tolist()))
    line = [LineConfig(name="door", points=((100, 0), (100, 200)))]  # A->B downwards: rightwards is "in"
    crossings = [c[1:] for c in score.line_crossings(ideal, line, (400, 200), 10.0)]
    assert sorted(crossings) == [(1, "door", "in"), (2, "door", "out")]


def test_crossings_are_matched_one_by_one():
    """score.pair_crossings: a count stands for a true crossing on the same line and way within the window,
    each used once, nearer first; the rest are missed or extra, though the totals may agree."""
    from edgewatch.evaluation import score

    truth = [(10, 1, "door", "in"), (40, 2, "door", "in"), (100, 3, "door", "out")]
    counted = [(12, 7, "door", "in"),  # person 1, two frames late
               (70, 8, "door", "in"),  # 30 frames after person 2: beyond a 20-frame window
               (101, 9, "door", "in")]  # at person 3's time, but the other way
    assert score.pair_crossings(truth, counted, 20) == ([1, 2], [1, 2])  # totals "in" 2/2 but one is wrong
    assert score.pair_crossings(truth, counted, 30) == ([2], [2])
    # two counts near one crossing: the nearer stands for it, the other is extra
    assert score.pair_crossings(truth[:1], [(15, 5, "door", "in"), (11, 6, "door", "in")], 20) == ([], [0])
    # a penalty moves the match to the likelier count (bench/replay.py: the track that was on that person)
    assert score.pair_crossings(truth[:1], [(15, 5, "door", "in"), (11, 6, "door", "in")], 20,
                                lambda i, j: 0.0 if j == 0 else 1.0) == ([], [1])
    assert score.pair_crossings([], counted, 20) == ([], [0, 1, 2])


def test_a_run_whose_summary_lost_crossings_gets_no_crossing_figures(capsys):
    """The worker's summary keeps the last 100 000 events: when its line_cross events no longer add up to
    its line counts, pairing them would report misses that are not there; the figures are left out, said
    in one line."""
    from edgewatch.evaluation.runs import crossings_of

    events = [{"type": "line_cross", "video_s": 1.0, "track_id": 3, "line": "door", "direction": "in"},
              {"type": "person_enter", "video_s": 0.5, "track_id": 3}]
    whole = {"lines": {"door": {"in": 1, "out": 0}}, "events": events}
    assert crossings_of(whole, "run", 10.0) == [(11, 3, "door", "in")]  # 1.0 s at 10 fps: MOT frame 11
    cut = {"lines": {"door": {"in": 2, "out": 0}}, "events": events}
    assert crossings_of(cut, "run", 10.0) is None
    assert "run: the run's summary kept 1 of its line crossings" in capsys.readouterr().err
