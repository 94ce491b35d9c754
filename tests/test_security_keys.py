"""Key files and open mode (docs/security.md): keys written atomically, 0600 from the start and
never overwritten without --force; a secret key other users may read, or another user's, is
refused in one line naming the file and the fix; a decoder without CURVE on a non-loopback
address refuses to start unless ``allow_insecure``, and then says so in a gauge."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import zmq.auth

from camera_nodes.cli import main as camera_main
from decoder_node.cli import main as decoder_main
from pipeline.preflight import is_loopback
from pipeline.security import CameraKey, camera_allowlist, generate
from stereo_app.cli import main as cli_main


def keys(folder: Path, *args: str) -> int:
    return cli_main(["keys", "generate", "--out", str(folder), *args])


def secure_toml(tmp_path: Path, keys_dir: Path, extra: str = "") -> Path:
    path = tmp_path / "decoder.toml"
    text = f'[security]\nenabled = true\nsecret_key = "{keys_dir}/decoder.key_secret"\n'
    path.write_text(text + f'cameras = "{keys_dir}/cameras"\n' + extra)
    return path


def test_security_keys_are_checked_and_generated(tmp_path, capsys):
    folder = tmp_path / "keys"
    config_path = secure_toml(tmp_path, folder)
    assert decoder_main(["--config", str(config_path), "--validate-config"]) == 2
    assert "security.secret_key" in capsys.readouterr().err
    assert keys(folder, "--name", "decoder") == 0
    (folder / "cameras").mkdir()
    assert decoder_main(["--config", str(config_path), "--validate-config"]) == 2
    assert "no camera certificate" in capsys.readouterr().err
    assert keys(folder / "cameras", "--name", "nobody") == 0
    assert decoder_main(["--config", str(config_path), "--validate-config"]) == 2
    assert "names its rig" in capsys.readouterr().err  # a key without a rig cannot be a camera
    (folder / "cameras" / "nobody.key").unlink()
    with pytest.raises(SystemExit):  # a new camera key names its side too
        keys(folder / "cameras", "--name", "c", "--rig", "rig0")
    assert keys(folder / "cameras", "--name", "c", "--rig", "rig0", "--side", "left") == 0
    assert decoder_main(["--config", str(config_path), "--validate-config"]) == 0
    allowed = camera_allowlist("k", folder / "cameras")
    assert list(allowed.values()) == [CameraKey("rig0", "left")]


def test_a_pub_sink_with_security_needs_its_subscriber_allowlist(tmp_path, capsys):
    folder = tmp_path / "keys"
    assert keys(folder, "--name", "decoder") == 0
    assert keys(folder / "cameras", "--name", "c", "--rig", "rig0", "--side", "left") == 0
    sink = '[[sinks]]\ntype = "zmq"\nbind = "tcp://*:5556"\n'
    config_path = secure_toml(tmp_path, folder, sink)
    assert decoder_main(["--config", str(config_path), "--validate-config"]) == 2
    assert "security.subscribers" in capsys.readouterr().err
    subscribers = folder / "subscribers"
    assert keys(subscribers, "--name", "viewer1") == 0
    secure_toml(tmp_path, folder, f'subscribers = "{subscribers}"\n' + sink)
    assert decoder_main(["--config", str(config_path), "--validate-config"]) == 0


def test_keys_are_written_0600_whatever_the_umask_and_never_replaced_without_force(
    tmp_path, capsys
):
    folder = tmp_path / "keys"
    old_umask = os.umask(0)
    try:
        assert keys(folder, "--name", "rig0-left", "--rig", "rig0", "--side", "left") == 0
    finally:
        os.umask(old_umask)
    public, secret = folder / "rig0-left.key", folder / "rig0-left.key_secret"
    assert public.stat().st_mode & 0o777 == 0o644
    assert secret.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["rig0-left.key", "rig0-left.key_secret"]
    first = zmq.auth.load_certificate(secret)
    assert zmq.auth.load_certificate(public)[0] == first[0]
    capsys.readouterr()
    assert keys(folder, "--name", "rig0-left", "--rig", "rig0", "--side", "left") == 2
    err = capsys.readouterr().err
    assert "rig0-left.key exists" in err and "--force" in err
    assert zmq.auth.load_certificate(secret) == first  # kept
    secret.unlink()  # half a pair is still not overwritten
    assert keys(folder, "--name", "rig0-left", "--rig", "rig0", "--side", "left") == 2
    assert keys(folder, "--name", "rig0-left", "--rig", "rig0", "--side", "left", "--force") == 0
    assert zmq.auth.load_certificate(secret)[0] != first[0]
    assert zmq.auth.load_certificate(public)[0] == zmq.auth.load_certificate(secret)[0]
    assert len(list(folder.iterdir())) == 2  # no temporary file left


def test_a_secret_key_other_users_may_read_is_refused_naming_file_mode_and_fix(tmp_path, capsys):
    folder = tmp_path / "keys"
    assert keys(folder, "--name", "decoder") == 0
    assert keys(folder / "cameras", "--name", "c", "--rig", "rig0", "--side", "left") == 0
    secret = folder / "decoder.key_secret"
    secret.chmod(0o644)
    config_path = secure_toml(tmp_path, folder)
    assert decoder_main(["--config", str(config_path), "--validate-config"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "security.secret_key" in err and "0644" in err and f"chmod 600 {secret}" in err
    secret.chmod(0o400)
    assert decoder_main(["--config", str(config_path), "--validate-config"]) == 0
    camera_secret = folder / "cameras" / "c.key_secret"
    camera_secret.chmod(0o640)
    camera = tmp_path / "camera.toml"
    camera.write_text(
        f'side = "left"\nsecret_key = "{camera_secret}"\nserver_key = "{folder}/decoder.key"\n'
    )
    capsys.readouterr()
    assert camera_main(["--config", str(camera), "--validate-config"]) == 2
    err = capsys.readouterr().err
    assert "secret_key" in err and "0640" in err and f"chmod 600 {camera_secret}" in err


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_a_secret_key_of_another_user_is_refused(tmp_path, capsys):
    folder = tmp_path / "keys"
    generate(folder, "decoder")
    os.chown(folder / "decoder.key_secret", 12345, -1)
    assert keys(folder / "cameras", "--name", "c", "--rig", "rig0", "--side", "left") == 0
    assert decoder_main(["--config", str(secure_toml(tmp_path, folder)), "--validate-config"]) == 2
    assert "owned by uid 12345" in capsys.readouterr().err


def test_a_certificate_of_the_old_version_names_a_rig_and_either_side(tmp_path):
    folder = tmp_path / "cameras"
    folder.mkdir()
    # what pyzmq writes (and what the old `keys generate --rig` put in the public file)
    zmq.auth.create_certificates(folder, "old-unquoted", {"rig": "rig1"})
    (folder / "old-unquoted.key").unlink()
    os.rename(folder / "old-unquoted.key_secret", folder / "old-unquoted.key")
    public, _ = generate(tmp_path / "new", "new", "rig2", "right")
    os.replace(public, folder / "new.key")
    found = sorted(camera_allowlist("security.cameras", folder).values(), key=str)
    assert found == [CameraKey("rig1", None), CameraKey("rig2", "right")]
    assert [key.user_id for key in found] == ["rig1", "rig2/right"]


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("tcp://127.0.0.1:5555", True),
        ("tcp://127.0.0.9:*", True),
        ("tcp://[::1]:5555", True),
        ("tcp://localhost:1", True),
        ("tcp://lo:1", True),
        ("ipc:///run/x", True),
        ("::1", True),
        ("inproc://x", True),
        ("127.0.0.1", True),
        ("tcp://*:5555", False),
        ("0.0.0.0", False),
        ("", False),
        ("tcp://10.0.0.1:5555", False),
        ("tcp://eth0:5555", False),
        ("::", False),
    ],
)
def test_loopback_addresses(address, loopback):
    assert is_loopback(address) is loopback


def test_open_on_a_non_loopback_address_needs_allow_insecure(tmp_path, capsys):
    path = tmp_path / "decoder.toml"
    loopback = '[receiver]\nbind = "tcp://127.0.0.1:5555"\n[http]\nhost = "127.0.0.1"\n'
    path.write_text(loopback + '[[sinks]]\ntype = "zmq"\nbind = "ipc:///tmp/x"\n')
    assert decoder_main(["--config", str(path), "--validate-config"]) == 0  # demo, tests
    path.write_text(loopback + '[[sinks]]\ntype = "zmq"\nbind = "tcp://*:5556"\n')
    assert decoder_main(["--config", str(path), "--validate-config"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "security.allow_insecure" in err and "sinks[0].bind = 'tcp://*:5556'" in err
    assert "receiver.bind" not in err
    path.write_text(path.read_text() + "[security]\nallow_insecure = true\n")
    assert decoder_main(["--config", str(path), "--validate-config"]) == 0


def test_a_camera_refuses_a_key_of_another_side_or_rig(tmp_path, capsys):
    folder = tmp_path / "keys"
    generate(folder, "decoder")
    generate(folder, "rig0-left", "rig0", "left")
    generate(folder, "legacy", "rig0")
    camera = tmp_path / "camera.toml"
    for rig, side, key, code in (
        ("rig0", "left", "rig0-left", 0),
        ("rig0", "right", "rig0-left", 2),
        ("rig1", "left", "rig0-left", 2),
        ("rig0", "right", "legacy", 0),
    ):
        camera.write_text(
            f'rig_id = "{rig}"\nside = "{side}"\n'
            f'secret_key = "{folder}/{key}.key_secret"\n'
            f'server_key = "{folder}/decoder.key"\n'
        )
        assert camera_main(["--config", str(camera), "--validate-config"]) == code, (rig, side)
        if code:
            err = capsys.readouterr().err
            assert "secret_key" in err and ("wrong_side" in err or "wrong_rig" in err), err
