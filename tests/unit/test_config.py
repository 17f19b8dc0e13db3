"""The config: validated, documented key by key, overridden in the documented order."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from edgewatch import cli, config, configdoc
from edgewatch.errors import EdgewatchError

REPO = Path(__file__).resolve().parents[2]


def test_docs_config_md_documents_every_key_and_is_current():
    assert (REPO / "docs/config.md").read_text() == configdoc.render() + "\n", "run: python -m edgewatch.configdoc > docs/config.md"
    for key, _, _, desc in configdoc._rows(config.Config):
        assert desc, f"{key} has no description"


def test_the_documented_examples_are_valid():
    config.validate(yaml.safe_load(configdoc.EXAMPLE))
    site = config.validate(yaml.safe_load(configdoc.SITE_EXAMPLE))
    assert list(site.cameras) == ["door", "till"]
    assert site.cameras["till"].video.output == "http://stream:8888/ingest/till"
    assert site.cameras["door"].source.reconnect.max_s == 10 and site.cameras["till"].detect.fps == 5


def _args(**kw) -> argparse.Namespace:
    a = cli._run_parser().parse_args([])
    for k, v in kw.items():
        setattr(a, k, v)
    return a


def test_flags_override_environment_which_overrides_the_file(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("camera: fromfile\nmodel:\n  threshold: 0.3\n  device: GPU\nsource:\n  input: a.mp4\n")
    cfg = cli.build_config(_args(config=str(f), prob_threshold=0.7), {"EDGEWATCH_CAMERA": "fromenv"})
    (camera, cam), = cfg.cameras.items()
    assert (camera, cfg.model.threshold, cfg.model.device, cam.source.input) == ("fromenv", 0.7, "GPU", "a.mp4")


def test_password_from_a_docker_secret_file(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    cfg = cli.build_config(_args(input="x.mp4"), {"EDGEWATCH_MQTT_PASSWORD_FILE": str(secret)})
    assert cfg.mqtt.password == "s3cret"
    with pytest.raises(EdgewatchError, match="EDGEWATCH_MQTT_PASSWORD_FILE: cannot read"):
        cli.build_config(_args(input="x.mp4"), {"EDGEWATCH_MQTT_PASSWORD_FILE": str(tmp_path / "none")})


@pytest.mark.parametrize("data, message", [
    ({"tracker": {"min_hits": 0}}, "tracker.min_hits"),
    ({"mqtt": {"port": 70000}}, "mqtt.port"),
    ({"video": {"policy": "sometimes"}}, "video.policy"),
    ({"lines": [{"name": "a", "points": [[0, 0], [1, 1]]}, {"name": "a", "points": [[0, 0], [1, 1]]}]}, "duplicate name 'a'"),
    ({"lines": [{"name": "a", "points": [[0, 0]]}]}, "exactly two points"),
    ({"model": {"threshold": 0.2}, "tracker": {"low_threshold": 0.3}}, "low_threshold must not exceed"),
    ({"zones": "table"}, "zones"),
    ({"bogus": 1}, "bogus: unknown key"),
])
def test_bad_values_name_the_key(data, message):
    with pytest.raises(EdgewatchError, match=message):
        config.validate(data)


def test_yaml_that_is_not_a_mapping(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("- a\n- b\n")
    with pytest.raises(EdgewatchError, match="top level must be a mapping"):
        config.load_yaml(f)
    f.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(EdgewatchError, match="not UTF-8|not valid YAML"):
        config.load_yaml(f)
