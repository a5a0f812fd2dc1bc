"""AMI over TLS (``[ami] tls``, Asterisk's ``tlsenable``): the server talks to the PBX simulator
through a TLS endpoint with a self-signed certificate made here, verifies it, and refuses a
PBX whose certificate it cannot verify before sending the secret."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.ami import messages
from callcenter.ami.client import AmiClient
from callcenter.server.build import build_server
from callcenter.settings import AmiSettings, Secret
from callcenter.simulator import PbxSimulator, SimulatorConfig
from tests.integration.test_serve import get, settings_for, wait_for

SECRET = "tls-secret"


def make_cert(folder: Path, name: str) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    assert openssl is not None, "openssl is needed to make the test certificate"
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", "/CN=pbx.test", "-keyout", str(key), "-out", str(cert),
                    "-addext", "subjectAltName=DNS:pbx.test,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@contextlib.asynccontextmanager
async def tls_front(cert: Path, key: Path, backend_port: int) -> AsyncIterator[tuple[int, list[bytes]]]:
    """A TLS endpoint that relays to the simulator's plain AMI port (as Asterisk's tlsbindaddr
    would serve the same manager); also records what clients send in clear after the handshake."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    seen: list[bytes] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: bool) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            while data := await reader.read(65536):
                if record:
                    seen.append(data)
                writer.write(data)
                await writer.drain()
        writer.close()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend_port)
        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))

    server = await asyncio.start_server(accept, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1], seen
    finally:
        server.close()


@pytest.fixture
async def simulator(tmp_path: Path) -> AsyncIterator[PbxSimulator]:
    sim = PbxSimulator(SimulatorConfig(port=0, secret=SECRET, recording_dir=tmp_path / "rec"))
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


async def test_the_server_drives_the_pbx_over_verified_tls(simulator: PbxSimulator, db_url: str,
                                                           tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path, "pbx")
    async with tls_front(cert, key, simulator.port) as (port, seen):
        base = settings_for(port, db_url, tmp_path)
        settings = dataclasses.replace(base, ami=dataclasses.replace(
            base.ami, secret=Secret(SECRET), tls=True, tls_ca_file=str(cert), tls_server_name="pbx.test"))
        async with build_server(settings) as server:
            await server.ami.wait_connected(10)
            channels = await server.ami.send(messages.core_show_channels())
            assert channels.ok
            _, body = await get(server.http_port, "/healthz")
            assert json.loads(body)["ami"]["ok"] is True
        assert any(b"Action: Login" in chunk for chunk in seen)  # it went through the TLS front


async def test_a_pbx_certificate_that_does_not_verify_is_refused_before_the_login(
        simulator: PbxSimulator, tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path, "pbx")
    other, _ = make_cert(tmp_path, "other-ca")
    async with tls_front(cert, key, simulator.port) as (port, seen):
        for ca, name in ((other, "pbx.test"), (cert, "wrong.name")):
            client = AmiClient(AmiSettings(port=port, secret=Secret(SECRET), tls=True, tls_ca_file=str(ca),
                                           tls_server_name=name, reconnect_min_s=0.05, reconnect_max_s=0.1,
                                           connect_timeout_s=2))
            task = asyncio.create_task(client.run())
            await wait_for(lambda c=client: "CERTIFICATE_VERIFY_FAILED" in c.last_error
                           or "certificate" in c.last_error.lower(), timeout=10)
            assert not client.connected
            await client.close()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert not any(b"Secret" in chunk for chunk in seen)
